"""MLOps REST API: connections (admins; secrets never returned; test and sync as 202 jobs), links, synced registry
and runs, rules, alerts, readiness; access scoping; and query counts that hold at 5 and 50 rows."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.mlops.models import Alert, MLflowConnection, ModelLink, ModelVersion, MonitoringRule, Run
from apps.mlops.services import rule_create
from tests.factories import make_initiative
from tests.mlops.factories import make_connection, make_experiment, make_model, make_run

pytestmark = pytest.mark.django_db


def token_client(user) -> APIClient:
    _, key = api_token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def count_queries(client: APIClient, url: str) -> tuple[int, dict]:
    client.get(url)
    with CaptureQueriesContext(db) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response.json()


@pytest.fixture
def world(admin_user, unit_a):
    conn = make_connection(admin_user, name="Main")
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Claims triage")

    def grow(total: int) -> None:
        while Run.objects.filter(initiative=initiative).count() < total:
            n = Run.objects.filter(initiative=initiative).count()
            run = make_run(conn, initiative, metrics={"auc": 0.6})
            make_model(conn, initiative, run=run)
            rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.9,
                        name=f"floor {n}")
            make_connection(admin_user)
            ModelLink.objects.create(connection=conn, kind="experiment", target=f"x-{n}", initiative=initiative)

    return {"conn": conn, "initiative": initiative, "grow": grow}


LIST_URLS = [
    "/api/v1/mlflow-connections/",
    "/api/v1/model-links/",
    "/api/v1/registered-models/",
    "/api/v1/model-versions/",
    "/api/v1/runs/",
    "/api/v1/monitoring-rules/",
    "/api/v1/alerts/",
    "/api/v1/readiness/",
]


@pytest.mark.parametrize("url", LIST_URLS)
def test_list_endpoints_take_the_same_queries_at_5_and_50_rows(world, admin_user, url):
    client = token_client(admin_user)
    world["grow"](5)
    small, _ = count_queries(client, url + "?page_size=100")
    world["grow"](50)
    large, data = count_queries(client, url + "?page_size=100")
    assert small == large, url
    assert data["count"] >= 50 or url.endswith("readiness/"), (url, data["count"])


def _detail_urls(world) -> list[str]:
    initiative = world["initiative"]
    return [
        f"/api/v1/mlflow-connections/{world['conn'].pk}/",
        f"/api/v1/model-links/{ModelLink.objects.filter(initiative=initiative).first().pk}/",
        f"/api/v1/registered-models/{initiative.registered_models.first().pk}/",
        f"/api/v1/model-versions/{ModelVersion.objects.filter(registered_model__initiative=initiative).first().pk}/",
        f"/api/v1/runs/{Run.objects.filter(initiative=initiative).first().pk}/",
        f"/api/v1/monitoring-rules/{MonitoringRule.objects.filter(initiative=initiative).first().pk}/",
        f"/api/v1/alerts/{Alert.objects.filter(initiative=initiative).first().pk}/",
        f"/api/v1/readiness/{initiative.key}/",
    ]


def test_detail_endpoints_take_the_same_queries_at_5_and_50_rows(world, admin_user):
    client = token_client(admin_user)
    world["grow"](5)
    small = [count_queries(client, url)[0] for url in _detail_urls(world)]
    world["grow"](50)
    large = [count_queries(client, url)[0] for url in _detail_urls(world)]
    assert small == large


# --- connections ------------------------------------------------------------------------------------------------


def test_create_connection_encrypts_the_secret_and_never_returns_it(admin_user):
    client = token_client(admin_user)
    response = client.post("/api/v1/mlflow-connections/", {
        "name": "Databricks", "tracking_uri": "https://adb-1.azuredatabricks.net/", "auth_type": "databricks",
        "secret": "dapi-SECRET", "timeout_seconds": 15,
    }, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert "secret" not in data and "secret_encrypted" not in data and "dapi-SECRET" not in response.content.decode()
    assert (data["tracking_uri"], data["has_secret"], data["timeout_seconds"]) == (
        "https://adb-1.azuredatabricks.net", True, 15)
    assert data["health"]["healthy"] is False and data["health"]["last_success_at"] is None
    stored = MLflowConnection.objects.get(pk=data["id"])
    from apps.mlops.crypto import decrypt

    assert decrypt(stored.secret_encrypted) == "dapi-SECRET"
    listed = client.get("/api/v1/mlflow-connections/").content.decode()
    assert "dapi-SECRET" not in listed and stored.secret_encrypted not in listed


def test_create_connection_with_bad_fields_names_each_and_writes_nothing(admin_user):
    response = token_client(admin_user).post("/api/v1/mlflow-connections/", {
        "name": "x", "tracking_uri": "databricks", "auth_type": "bearer", "timeout_seconds": 500,
    }, format="json")
    assert response.status_code == 400
    assert response.json() == {"timeout_seconds": ["Ensure this value is less than or equal to 120."]}
    response = token_client(admin_user).post("/api/v1/mlflow-connections/", {
        "name": "x", "tracking_uri": "databricks", "auth_type": "bearer"}, format="json")
    assert response.json() == {
        "tracking_uri": ["'databricks' is not an HTTP(S) tracking server URL; use e.g. https://mlflow.example.com "
                         "(for Databricks, the workspace URL)."],
        "secret": ["Bearer authentication needs a token."],
    }
    assert not MLflowConnection.objects.exists()


def test_connections_are_admin_only(world, executive, lead_a, auditor_user):
    for user in (executive, lead_a, auditor_user):
        client = token_client(user)
        assert client.get("/api/v1/mlflow-connections/").status_code == 403
        assert client.get(f"/api/v1/mlflow-connections/{world['conn'].pk}/").status_code == 403
        assert client.post(f"/api/v1/mlflow-connections/{world['conn'].pk}/sync/", {}, format="json"
                           ).status_code == 403
        assert client.post("/api/v1/mlflow-connections/", {"name": "n", "tracking_uri": "http://x"},
                           format="json").status_code == 403
    assert MLflowConnection.objects.count() == 1


def test_sync_and_test_answer_202_with_a_job(world, admin_user, django_capture_on_commit_callbacks):
    client = token_client(admin_user)
    with django_capture_on_commit_callbacks() as callbacks:
        sync = client.post(f"/api/v1/mlflow-connections/{world['conn'].pk}/sync/", {"full": True}, format="json")
        test = client.post(f"/api/v1/mlflow-connections/{world['conn'].pk}/test/", format="json")
    assert sync.status_code == 202 and test.status_code == 202
    assert (sync.json()["kind"], sync.json()["status"], sync.json()["params"]) == (
        "mlops.sync_connection", "queued", {"connection": world["conn"].pk, "full": True})
    assert test.json()["kind"] == "mlops.test_connection"
    assert len(callbacks) == 2
    health = client.get(f"/api/v1/mlflow-connections/{world['conn'].pk}/").json()["health"]
    assert health["last_job"] == sync.json()["id"]


def test_update_connection_keeps_the_secret_unless_a_new_one_is_given(admin_user):
    client = token_client(admin_user)
    created = client.post("/api/v1/mlflow-connections/", {
        "name": "Basic", "tracking_uri": "http://mlflow.local:5000", "auth_type": "basic", "username": "svc",
        "secret": "one"}, format="json").json()
    stored = MLflowConnection.objects.get(pk=created["id"]).secret_encrypted
    response = client.patch(f"/api/v1/mlflow-connections/{created['id']}/", {"timeout_seconds": 30}, format="json")
    assert response.status_code == 200 and response.json()["timeout_seconds"] == 30
    assert MLflowConnection.objects.get(pk=created["id"]).secret_encrypted == stored
    client.patch(f"/api/v1/mlflow-connections/{created['id']}/", {"secret": "two"}, format="json")
    from apps.mlops.crypto import decrypt

    assert decrypt(MLflowConnection.objects.get(pk=created["id"]).secret_encrypted) == "two"
    assert client.delete(f"/api/v1/mlflow-connections/{created['id']}/").status_code == 204
    assert not MLflowConnection.objects.filter(pk=created["id"]).exists()


# --- synced data scoping ----------------------------------------------------------------------------------------


def test_synced_data_is_visible_only_with_the_initiative(world, admin_user, lead_a, lead_b, executive):
    # given synced runs and models of a Claims initiative, and an unlinked model and run
    world["grow"](2)
    make_model(world["conn"], None, name="shadow-model", aliases={"production": 1}, versions=1)
    make_run(world["conn"], None, metrics={"auc": 0.5})

    def names(user, url: str) -> int:
        return token_client(user).get(url).json()["count"]

    # then the Claims lead sees the initiative's objects but not the unlinked ones
    assert names(lead_a, "/api/v1/registered-models/") == 2
    assert names(lead_a, "/api/v1/runs/") == 2
    # a lead of another unit sees nothing, and gets 404 on the objects
    assert names(lead_b, "/api/v1/registered-models/") == 0
    assert names(lead_b, "/api/v1/runs/") == 0
    assert names(lead_b, "/api/v1/alerts/") == 0
    run = Run.objects.filter(initiative=world["initiative"]).first()
    assert token_client(lead_b).get(f"/api/v1/runs/{run.pk}/").status_code == 404
    assert token_client(lead_b).get(f"/api/v1/readiness/{world['initiative'].key}/").status_code == 404
    # portfolio-wide readers see everything, including the unlinked objects
    assert names(executive, "/api/v1/registered-models/") == 3
    assert names(executive, "/api/v1/runs/") == 3
    unowned = token_client(executive).get("/api/v1/registered-models/?linked=false&production=true").json()
    assert [row["name"] for row in unowned["results"]] == ["shadow-model"]


def test_run_output_has_latest_metrics_and_the_initiative_key(world, admin_user):
    world["grow"](1)
    data = token_client(admin_user).get(f"/api/v1/runs/?initiative={world['initiative'].key.lower()}").json()
    (row,) = data["results"]
    assert row["metrics"] == {"auc": 0.6}
    assert row["initiative"] == world["initiative"].key and row["link_source"] == "experiment"


def test_registered_model_detail_lists_versions_with_aliases(world, admin_user):
    world["grow"](1)
    model = world["initiative"].registered_models.get()
    data = token_client(admin_user).get(f"/api/v1/registered-models/{model.pk}/").json()
    assert data["aliases"] == {"champion": 2}
    assert [(v["version"], v["aliases"]) for v in data["versions"]] == [(2, ["champion"]), (1, [])]
    versions = token_client(admin_user).get("/api/v1/model-versions/?alias=champion").json()
    assert [v["version"] for v in versions["results"]] == [2]


# --- links, rules, alerts, readiness ----------------------------------------------------------------------------


def test_create_and_delete_a_link(world, admin_user, lead_a, viewer_a):
    experiment = make_experiment(world["conn"], None, name="pricing")
    body = {"initiative": world["initiative"].key, "connection": world["conn"].pk, "kind": "experiment",
            "target": "pricing"}
    assert token_client(viewer_a).post("/api/v1/model-links/", body, format="json").status_code == 403
    response = token_client(lead_a).post("/api/v1/model-links/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["target"] == experiment.experiment_id
    experiment.refresh_from_db()
    assert experiment.initiative == world["initiative"]
    again = token_client(lead_a).post("/api/v1/model-links/", body, format="json")
    assert again.status_code == 400
    assert again.json() == {"target": [f"This experiment is already linked to {world['initiative'].key}."]}
    unknown = token_client(lead_a).post("/api/v1/model-links/", {**body, "initiative": "ZZ-999"}, format="json")
    assert unknown.json() == {"initiative": ["No initiative 'ZZ-999' that you may see."]}
    link_id = response.json()["id"]
    assert token_client(lead_a).delete(f"/api/v1/model-links/{link_id}/").status_code == 204
    experiment.refresh_from_db()
    assert experiment.initiative is None


def test_rules_crud_and_alert_actions(world, admin_user, lead_a, viewer_a):
    make_run(world["conn"], world["initiative"], metrics={"psi": 0.4})
    client = token_client(lead_a)
    created = client.post("/api/v1/monitoring-rules/", {
        "initiative": world["initiative"].key, "kind": "drift", "metric_key": "psi", "recipients": ["x@example.com"],
    }, format="json")
    assert created.status_code == 201, created.content
    rule = created.json()
    assert (rule["drift_limit"], rule["active_alerts"], rule["initiative"]) == (0.25, 1, world["initiative"].key)
    bad = client.post("/api/v1/monitoring-rules/", {"initiative": world["initiative"].key, "kind": "threshold",
                                                    "metric_key": "auc"}, format="json")
    assert bad.status_code == 400 and bad.json() == {"min_value": ["Give a minimum, a maximum or both."]}

    alert = client.get("/api/v1/alerts/?active=true").json()["results"][0]
    assert alert["status"] == "open" and alert["observed_value"] == 0.4
    assert token_client(viewer_a).post(f"/api/v1/alerts/{alert['id']}/acknowledge/").status_code == 403
    acked = client.post(f"/api/v1/alerts/{alert['id']}/acknowledge/")
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "lead_a"
    resolved = client.post(f"/api/v1/alerts/{alert['id']}/resolve/", {"note": "false alarm"}, format="json")
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "manual")
    twice = client.post(f"/api/v1/alerts/{alert['id']}/resolve/", {}, format="json")
    assert twice.status_code == 400 and twice.json() == {"status": ["This alert is already resolved."]}

    paused = client.patch(f"/api/v1/monitoring-rules/{rule['id']}/", {"active": False}, format="json")
    assert paused.status_code == 200 and paused.json()["active"] is False
    assert client.delete(f"/api/v1/monitoring-rules/{rule['id']}/").status_code == 204
    assert not MonitoringRule.objects.filter(pk=rule["id"]).exists()


def test_readiness_endpoint_explains_each_check(world, admin_user):
    world["grow"](1)
    data = token_client(admin_user).get(f"/api/v1/readiness/{world['initiative'].key}/").json()
    codes = {check["code"]: check for check in data["checks"]}
    assert codes["production_alias"]["status"] == "pass"
    assert codes["monitoring_active"]["reason"] == "1 active monitoring rule(s)."
    assert data["score"] == round(100 * data["passed"] / data["applicable"])
    assert data["history"] == []
    listed = token_client(admin_user).get("/api/v1/readiness/").json()
    assert [row["initiative"] for row in listed["results"]] == [world["initiative"].key]


def test_openapi_schema_documents_the_mlops_endpoints(admin_user):
    schema = token_client(admin_user).get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/mlflow-connections/{id}/sync/" in paths
    sync = paths["/api/v1/mlflow-connections/{id}/sync/"]["post"]["responses"]
    assert set(sync) >= {"202", "400", "401", "403", "404"}
    assert "/api/v1/alerts/{id}/acknowledge/" in paths and "/api/v1/readiness/{key}/" in paths
    connection = schema["components"]["schemas"]["ConnectionOutput"]["properties"]
    assert "secret" not in connection and "has_secret" in connection
