"""Deployment files and the configuration table: no Docker engine here, so check what can be checked for real."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
SETTINGS_FILES = [ROOT / "portal/settings/base.py", ROOT / "portal/settings/production.py", ROOT / "portal/embedded.py"]
ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|env_bool|env_list|os\.environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']"""
)
# Read by gunicorn or Django's entry points rather than by our settings modules.
NOT_SETTINGS = {"WEB_CONCURRENCY", "DJANGO_SETTINGS_MODULE"}


def _k8s_documents() -> list[dict]:
    documents = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        if path.name == "kustomization.yaml":  # kustomize's own file, not a Kubernetes object
            continue
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def _settings_env_vars() -> set[str]:
    return {name for path in SETTINGS_FILES for name in ENV_READ.findall(path.read_text())}


def _pod_spec(document: dict) -> dict:
    return document["spec"]["template"]["spec"]


def test_k8s_manifests_parse_and_hold_web_worker_beat_service_config_secret_and_migration_job():
    kinds = {(doc["kind"], doc["metadata"]["name"]) for doc in _k8s_documents()}
    assert {
        ("Deployment", "pilotlight-web"), ("Deployment", "pilotlight-worker"), ("Deployment", "pilotlight-beat"),
        ("Service", "pilotlight-web"), ("ConfigMap", "pilotlight-config"), ("Secret", "pilotlight-secrets"),
        ("Job", "pilotlight-migrate"),
    } <= kinds


def test_k8s_beat_runs_exactly_one_replica_and_never_surges():
    beat = next(doc for doc in _k8s_documents() if doc["metadata"]["name"] == "pilotlight-beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"
    assert _pod_spec(beat)["containers"][0]["command"][-5:] == ["beat", "-S", "django", "-l", "info"]


def test_k8s_workloads_run_as_non_root_with_config_and_secret():
    workloads = [doc for doc in _k8s_documents() if doc["kind"] in {"Deployment", "Job"}]
    assert len(workloads) == 4
    for workload in workloads:
        spec = _pod_spec(workload)
        assert spec["securityContext"]["runAsNonRoot"] is True
        for container in spec["containers"]:
            sources = {next(iter(ref.values()))["name"] for ref in container["envFrom"]}
            assert sources == {"pilotlight-config", "pilotlight-secrets"}, workload["metadata"]["name"]


def test_k8s_service_selects_the_web_pods_on_their_named_port():
    documents = _k8s_documents()
    service = next(doc for doc in documents if doc["kind"] == "Service")
    web = next(doc for doc in documents if doc["metadata"]["name"] == "pilotlight-web" and doc["kind"] == "Deployment")
    assert service["spec"]["selector"] == web["spec"]["template"]["metadata"]["labels"]
    ports = {port["name"] for port in _pod_spec(web)["containers"][0]["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in ports


def test_k8s_kustomization_lists_existing_files_but_not_the_example_secret():
    kustomization = yaml.safe_load((DEPLOY / "k8s/kustomization.yaml").read_text())
    for resource in kustomization["resources"]:
        assert (DEPLOY / "k8s" / resource).is_file(), resource
    assert "secret.example.yaml" not in kustomization["resources"]


def test_configmap_only_sets_variables_the_settings_read():
    config = next(doc for doc in _k8s_documents() if doc["kind"] == "ConfigMap")
    unknown = set(config["data"]) - _settings_env_vars() - NOT_SETTINGS
    assert not unknown


def test_compose_runs_postgres_redis_migrate_web_worker_and_beat():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["beat"]["command"][3:6] == ["beat", "-S", "django"]
    assert services["web"]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert services["worker"]["environment"]["CELERY_BROKER_URL"].startswith("redis://")


def test_dockerfile_is_slim_non_root_collects_static_and_serves_with_gunicorn():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "\nFROM python:3.11-slim\n" in dockerfile
    assert re.search(r"^USER pilotlight$", dockerfile, re.MULTILINE)
    assert "collectstatic --noinput" in dockerfile
    assert "gunicorn portal.wsgi:application" in dockerfile
    for source in re.findall(r"^COPY (\S+) ", dockerfile, re.MULTILINE):
        assert (ROOT / source).exists(), source


def test_production_collectstatic_works_with_only_dummy_environment(tmp_path):
    # Given only the dummy values the Dockerfile passes at build time
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DATABASE_URL": "postgresql://build@127.0.0.1:5432/build", "SECRET_KEY": "build-only-not-a-secret",
        "FIELD_ENCRYPTION_KEY": "build-only-not-a-secret",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0", "STATIC_ROOT": str(tmp_path / "static"),
        "PILOTLIGHT_VAR_DIR": str(tmp_path / "var"), "HOME": str(tmp_path),
    }
    # When collectstatic runs as in the image build
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    # Then hashed, compressed files and their manifest exist, plotly.js included
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "static/staticfiles.json").is_file()
    assert list((tmp_path / "static").rglob("plotly*.min.*.js.gz"))


def test_readme_configuration_table_documents_every_environment_variable():
    readme = (ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", readme, re.MULTILINE))
    missing = _settings_env_vars() - table
    assert not missing, f"Add these to the configuration table in README.md: {sorted(missing)}"


def test_readme_starts_with_the_two_commands():
    first_lines = (ROOT / "README.md").read_text().splitlines()[:12]
    assert "make demo" in "\n".join(first_lines)
    assert "make test" in "\n".join(first_lines)
