"""The launcher behind `make demo` / `make test`: exit codes and the printed demo logins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from apps.portfolio.management import demo_data
from portal import launcher

ROOT = Path(__file__).resolve().parent.parent


def test_demo_banner_lists_a_login_per_role_and_the_password():
    banner = launcher.demo_banner("http://127.0.0.1:8000", ROOT / "var" / "log")
    assert "http://127.0.0.1:8000/" in banner
    assert demo_data.DEMO_PASSWORD in banner
    for username in ("cto", "admin", "compliance", "auditor", "claims-lead", "viewer"):
        assert f"    {username} " in banner
    assert "Ctrl-C" in banner


def test_demo_password_satisfies_the_password_length_rule():
    assert len(demo_data.DEMO_PASSWORD) >= 12


def test_test_command_turns_no_tests_collected_into_a_failure(tmp_path):
    empty = tmp_path / "test_nothing.py"
    empty.write_text("x = 1\n")
    # Given a DATABASE_URL (so no embedded server is started) and a path with no tests in it
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused", "HOME": "/tmp"}
    result = subprocess.run(
        [sys.executable, "-m", "portal.launcher", "test", "-p", "no:cacheprovider", str(empty)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert "collected no tests" in result.stdout


def test_unknown_arguments_are_refused_outside_test():
    result = subprocess.run([sys.executable, "-m", "portal.launcher", "stop-db", "--bogus"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unrecognised arguments: --bogus" in result.stderr


def test_test_command_always_runs_pytest_with_the_test_settings():
    # Given an environment that points Django at the dev settings (as importing portal.celery does)
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/unused", "HOME": "/tmp",
           "DJANGO_SETTINGS_MODULE": "portal.settings.dev"}
    # When the launcher runs pytest (collection only: no database needed)
    result = subprocess.run(
        [sys.executable, "-m", "portal.launcher", "test", "-p", "no:cacheprovider", "--collect-only",
         "tests/test_launcher.py::test_demo_password_satisfies_the_password_length_rule"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    # Then pytest-django reports the test settings
    assert result.returncode == 0, result.stdout[-2000:]
    assert "settings: portal.settings.test" in result.stdout


def test_children_get_no_broker_variable_when_none_is_configured(monkeypatch):
    # Given a database URL and no broker (Celery would let an exported CELERY_BROKER_URL override any broker a test
    # configures on the app, so the settings' filesystem:// default must stay a default)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/unused")
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    # When the launcher prepares the children's environment
    services = launcher.services_start("portal.settings.test")
    # Then it passes the database on, starts nothing, and leaves the broker to the settings
    assert services.env["DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5432/unused"
    assert services.env["DJANGO_SETTINGS_MODULE"] == "portal.settings.test"
    assert "CELERY_BROKER_URL" not in services.env
    assert services.started_database is False


def test_children_keep_a_configured_broker(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/unused")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    assert launcher.services_start("portal.settings.dev").env["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
