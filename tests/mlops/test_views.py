"""MLOps pages: what they show, who may see them, that they render from the database alone while MLflow is down,
and that their query counts hold at 5 and at 50 rows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import connection as db
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.mlops.choices import LinkKind
from apps.mlops.models import MLflowConnection, ModelLink, MonitoringRule, SyncState
from apps.mlops.services import model_link_create, rule_create
from apps.portfolio.models import Initiative
from tests.factories import make_initiative
from tests.mlops.factories import make_connection, make_experiment, make_model, make_run

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def count_queries(client: Client, url: str) -> tuple[int, object]:
    client.get(url)
    with CaptureQueriesContext(db) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response


@dataclass
class World:
    """Synced data for one initiative (and unowned models, production initiatives), growable to N rows."""

    admin: object
    unit: object
    conn: MLflowConnection
    initiative: Initiative
    rows: int = 0
    extras: list = field(default_factory=list)

    def grow(self, total: int) -> World:
        for n in range(self.rows, total):
            run = make_run(self.conn, self.initiative, metrics={"auc": 0.6 + n / 1000, "loss": 0.3})
            make_model(self.conn, self.initiative, versions=2, run=run, version_tags={"mlflow.source.git.commit": "c"})
            make_model(self.conn, None, versions=1, aliases={"production": 1})  # unowned production model
            rule_create(actor=self.admin, initiative=self.initiative, kind="threshold", metric_key="auc",
                        min_value=0.95, name=f"auc floor {n}")
            experiment = make_experiment(self.conn, None)
            model_link_create(actor=self.admin, initiative=self.initiative, connection=self.conn,
                              kind=LinkKind.EXPERIMENT, target=experiment.experiment_id)
            other = make_initiative(actor=self.admin, unit=self.unit, name=f"Live {n}")
            Initiative.objects.filter(pk=other.pk).update(stage="production")
        self.rows = total
        return self


@pytest.fixture
def world(admin_user, unit_a) -> World:
    conn = make_connection(admin_user, name="Main MLflow")
    SyncState.objects.filter(pk=conn.pk).update(last_success_at=timezone.now() - timedelta(hours=3))
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Claims triage")
    return World(admin_user, unit_a, conn, initiative)


# --- the Models page --------------------------------------------------------------------------------------------


def test_models_page_shows_versions_aliases_charts_alerts_and_readiness(world, admin_user):
    world.grow(2)
    response = browser(admin_user).get(f"/mlops/initiatives/{world.initiative.key}/models/")
    assert response.status_code == 200
    html = response.content.decode()
    model = world.initiative.registered_models.order_by("name").first()
    assert model.name in html
    assert "@champion → v2" in html
    assert 'id="metric-chart-1"' in html  # the auc chart
    assert "auc floor 0" in html and "is outside the allowed range" in html  # the open alert and its reason
    assert "MLOps readiness" in html and "Model versioned in the registry" in html
    assert "Main MLflow" in html and "last synced 3" in html


def test_models_page_query_count_is_the_same_for_5_and_50(world, admin_user):
    client = browser(admin_user)
    url = f"/mlops/initiatives/{world.initiative.key}/models/"
    world.grow(5)
    small, _ = count_queries(client, url)
    world.grow(50)
    large, response = count_queries(client, url)
    assert small == large
    assert response.content.decode().count('class="model-block"') == 50


def test_models_page_is_404_outside_the_users_scope(world, lead_b):
    assert browser(lead_b).get(f"/mlops/initiatives/{world.initiative.key}/models/").status_code == 404


def test_pages_render_from_the_database_while_mlflow_is_unreachable(world, admin_user):
    # given synced data, and a connection whose last syncs failed because MLflow is unreachable
    world.grow(3)
    SyncState.objects.filter(pk=world.conn.pk).update(
        last_error_at=timezone.now(), last_error_kind="unreachable",
        last_error="MLflow is unreachable at http://127.0.0.1:9: connection refused", consecutive_failures=4)
    client = browser(admin_user)

    # when the pages are opened
    for url in (f"/mlops/initiatives/{world.initiative.key}/models/", "/mlops/", "/mlops/connections/"):
        started = time.monotonic()
        response = client.get(url)
        elapsed = time.monotonic() - started

        # then they answer quickly, from the database, and say how old the data is and why
        assert response.status_code == 200, url
        assert elapsed < 2.0, (url, elapsed)
        html = response.content.decode()
        assert "MLflow unreachable" in html, url
    html = client.get(f"/mlops/initiatives/{world.initiative.key}/models/").content.decode()
    assert "last synced 3" in html and "hours ago" in html


# --- overview, alerts, connections ------------------------------------------------------------------------------


def test_overview_lists_unowned_production_models_and_production_initiatives_without_a_model(world, admin_user):
    world.grow(2)
    html = browser(admin_user).get("/mlops/").content.decode()
    assert "Production models without an initiative" in html
    assert "@production → v1" in html
    assert "Live 0" in html and "Live 1" in html


def test_overview_query_count_is_the_same_for_5_and_50(world, admin_user):
    client = browser(admin_user)
    world.grow(5)
    small, _ = count_queries(client, "/mlops/")
    world.grow(50)
    large, _ = count_queries(client, "/mlops/")
    assert small == large


def test_alert_list_filters_and_query_count_holds(world, admin_user):
    client = browser(admin_user)
    world.grow(5)
    small, response = count_queries(client, "/mlops/alerts/")
    assert response.content.decode().count("auc floor") == 5
    world.grow(50)
    large, response = count_queries(client, "/mlops/alerts/")
    assert small == large
    assert "Page 1 of 2" in response.content.decode()
    resolved, response = count_queries(client, "/mlops/alerts/?status=resolved")
    assert "No alert here" in response.content.decode()


def test_acknowledge_from_the_alert_list(world, admin_user):
    world.grow(1)
    alert = world.initiative.alerts.get()
    response = browser(admin_user).post(f"/mlops/alerts/{alert.pk}/acknowledge/", {"next": "/mlops/alerts/"})
    assert response.status_code == 302 and response["Location"] == "/mlops/alerts/"
    alert.refresh_from_db()
    assert alert.status == "acknowledged"


def test_a_viewer_sees_alerts_without_action_buttons_and_cannot_post(world, viewer_a):
    world.grow(1)
    client = browser(viewer_a)
    html = client.get("/mlops/alerts/").content.decode()
    assert "auc floor 0" in html and "Acknowledge</button>" not in html
    alert = world.initiative.alerts.get()
    assert client.post(f"/mlops/alerts/{alert.pk}/acknowledge/").status_code == 403


def test_connections_page_is_for_portfolio_admins_only(world, admin_user, executive, lead_a):
    assert browser(admin_user).get("/mlops/connections/").status_code == 200
    assert browser(executive).get("/mlops/connections/").status_code == 403
    assert browser(lead_a).get("/mlops/connections/").status_code == 403
    assert browser(lead_a).get(f"/mlops/connections/{world.conn.pk}/edit/").status_code == 403
    assert browser(lead_a).post(f"/mlops/connections/{world.conn.pk}/sync/").status_code == 403


def test_connections_page_query_count_is_the_same_for_5_and_50(admin_user):
    def add(total: int) -> None:
        while MLflowConnection.objects.count() < total:
            make_connection(admin_user)

    client = browser(admin_user)
    add(5)
    small, _ = count_queries(client, "/mlops/connections/")
    add(50)
    large, response = count_queries(client, "/mlops/connections/")
    assert small == large
    assert response.content.decode().count('class="card connection"') == 50


def test_sync_now_queues_a_job_and_answers_json_for_the_progress_bar(world, admin_user,
                                                                    django_capture_on_commit_callbacks):
    client = browser(admin_user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/mlops/connections/{world.conn.pk}/sync/", HTTP_ACCEPT="application/json")
    assert response.status_code == 202
    job_id = response.json()["job"]
    assert response.json()["url"] == f"/api/v1/jobs/{job_id}/"
    assert len(callbacks) == 1  # the task is sent on commit
    job = client.get(f"/api/v1/jobs/{job_id}/").json()
    assert (job["kind"], job["status"], job["params"]) == ("mlops.sync_connection", "queued",
                                                           {"connection": world.conn.pk, "full": False})


def test_connection_form_never_shows_the_secret_and_keeps_it_when_left_empty(admin_user):
    client = browser(admin_user)
    response = client.post("/mlops/connections/new/", {
        "name": "Secured", "tracking_uri": "https://mlflow.example.com", "auth_type": "bearer", "secret": "tok-XYZ",
        "timeout_seconds": 10, "verify_tls": "on", "enabled": "on",
    })
    assert response.status_code == 302
    conn = MLflowConnection.objects.get(name="Secured")
    assert conn.secret_encrypted and "tok-XYZ" not in conn.secret_encrypted
    html = client.get(f"/mlops/connections/{conn.pk}/edit/").content.decode()
    assert "tok-XYZ" not in html and conn.secret_encrypted not in html
    assert "A secret is stored (never shown). Leave empty to keep it." in html
    stored = conn.secret_encrypted
    client.post(f"/mlops/connections/{conn.pk}/edit/", {
        "name": "Secured", "tracking_uri": "https://mlflow.example.com", "auth_type": "bearer", "secret": "",
        "timeout_seconds": 20, "enabled": "on",
    })
    conn.refresh_from_db()
    assert conn.secret_encrypted == stored and conn.timeout_seconds == 20 and conn.verify_tls is False


def test_connection_form_errors_name_the_field_and_write_nothing(admin_user):
    response = browser(admin_user).post("/mlops/connections/new/", {
        "name": "Broken", "tracking_uri": "ftp://nowhere", "auth_type": "basic", "username": "", "secret": "",
        "timeout_seconds": 10,
    })
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["tracking_uri"][0].startswith("'ftp://nowhere' is not an HTTP(S) tracking server URL")
    assert form.errors["username"] == ["Basic authentication needs a username."]
    assert form.errors["secret"] == ["Basic authentication needs a password."]
    assert not MLflowConnection.objects.filter(name="Broken").exists()


def test_rule_form_creates_a_rule_and_forms_render(world, admin_user):
    client = browser(admin_user)
    url = f"/mlops/initiatives/{world.initiative.key}/rules/new/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"kind": "drift", "metric_key": "psi", "window_days": 7, "baseline_days": 30,
                                 "consecutive_breaches": 2, "severity": "critical", "recipients": "a@example.com",
                                 "active": "on"})
    assert response.status_code == 302
    rule = MonitoringRule.objects.get(initiative=world.initiative, metric_key="psi")
    assert (rule.drift_limit, rule.consecutive_breaches, rule.recipients) == (0.25, 2, ["a@example.com"])
    assert client.get(f"/mlops/rules/{rule.pk}/edit/").status_code == 200


def test_link_form_links_an_experiment_by_name(world, admin_user):
    experiment = make_experiment(world.conn, None, name="fraud-experiments")
    response = browser(admin_user).post(f"/mlops/initiatives/{world.initiative.key}/links/", {
        "connection": world.conn.pk, "kind": "experiment", "target": "fraud-experiments"})
    assert response.status_code == 302
    link = ModelLink.objects.get(initiative=world.initiative)
    assert link.target == experiment.experiment_id
    experiment.refresh_from_db()
    assert experiment.initiative == world.initiative


def test_initiative_summary_include_renders(world, admin_user):
    from django.template.loader import render_to_string

    from apps.mlops.selectors import mlops_initiative_summary

    world.grow(1)
    summary = mlops_initiative_summary(user=admin_user, initiative=world.initiative)
    html = render_to_string("mlops/_initiative_summary.html", {"summary": summary})
    assert "Models &amp; MLOps" in html and "@champion" in html and "auc floor 0" in html
    assert f"/mlops/initiatives/{world.initiative.key}/models/" in html


def test_form_pages_take_the_same_queries_at_5_and_50_rows(world, admin_user):
    client = browser(admin_user)

    def urls() -> list[str]:
        rule = MonitoringRule.objects.filter(initiative=world.initiative).first()
        return [f"/mlops/initiatives/{world.initiative.key}/rules/new/", f"/mlops/rules/{rule.pk}/edit/",
                "/mlops/connections/new/", f"/mlops/connections/{world.conn.pk}/edit/"]

    world.grow(5)
    small = [count_queries(client, url)[0] for url in urls()]
    world.grow(50)
    large = [count_queries(client, url)[0] for url in urls()]
    assert small == large
