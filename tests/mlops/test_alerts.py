"""Alerts end to end: a metric series seeded in a real MLflow server opens an alert after a sync, emails the owner
and the rule's recipients through a real SMTP server (aiosmtpd), and resolves itself when the rule holds again."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.accounts.choices import UnitRole
from apps.mlops.choices import AlertStatus, Resolution
from apps.mlops.models import Alert
from apps.mlops.services import (
    alert_acknowledge,
    alert_resolve,
    mlflow_sync,
    monitoring_evaluate,
    rule_create,
    rule_update,
)
from tests.factories import make_initiative, make_user
from tests.mlops.helpers import now_ms, seed_run

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
DAY = 86_400_000


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        import email

        message = email.message_from_bytes(envelope.content)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a free loopback port; Django's SMTP backend sends to it."""
    from aiosmtpd.controller import Controller

    from tests.mlops.conftest import free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "pilotlight@example.com"
    yield inbox
    controller.stop()


@pytest.fixture
def watched(connection, admin_user, unit_a, mlflow_client, suffix):
    """An initiative whose monitoring experiment logs a PSI drift score daily, and a drift rule on it."""
    owner = make_user(unit=unit_a, unit_role=UnitRole.CONTRIBUTOR, username=f"owner{suffix[:4]}",
                      email="owner@example.com")
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Credit scoring", owner=owner)
    experiment_id = mlflow_client.create_experiment(f"credit-monitoring-{suffix}",
                                                    tags={"pilotlight.initiative": initiative.key})
    start = now_ms() - 4 * DAY
    for day, psi in enumerate([0.05, 0.08]):
        seed_run(mlflow_client, experiment_id, name=f"monitor-{day}", metrics={"psi": psi},
                 start_time=start + day * DAY, end_time=start + day * DAY + 1000)
    rule = rule_create(actor=admin_user, initiative=initiative, kind="drift", metric_key="psi",
                       consecutive_breaches=2, severity="critical", recipients=["mlops@example.com"])
    return {"initiative": initiative, "experiment_id": experiment_id, "rule": rule, "start": start}


def _log_day(mlflow_client, watched, day: int, psi: float) -> None:
    at = watched["start"] + day * DAY
    seed_run(mlflow_client, watched["experiment_id"], name=f"monitor-{day}", metrics={"psi": psi},
             start_time=at, end_time=at + 1000)


def test_drift_series_opens_an_alert_emails_and_resolves_itself(connection, watched, mlflow_client, smtp,
                                                                eager_celery, django_capture_on_commit_callbacks):
    # given a stable series, synced: no alert
    mlflow_sync(connection_id=connection.pk)
    assert not Alert.objects.exists()

    # when two consecutive drift scores reach the 0.25 limit and the connection syncs
    _log_day(mlflow_client, watched, 2, 0.31)
    _log_day(mlflow_client, watched, 3, 0.42)
    # (the runs are back-dated one per day, so a full reconcile picks them up whatever the watermark)
    with django_capture_on_commit_callbacks(execute=True):
        result = mlflow_sync(connection_id=connection.pk, full=True)

    # then one critical alert is open with the observed value and the reason
    assert result.alerts_opened == 1
    alert = Alert.objects.get(rule=watched["rule"])
    assert (alert.status, alert.severity, alert.observed_value) == (AlertStatus.OPEN, "critical", 0.42)
    assert "Drift score 0.42 is at or above the limit 0.25 (2 score(s) in a row)" in alert.message
    # and the owner and the rule's recipient got one email
    assert len(smtp.messages) == 1
    recipients, message = smtp.messages[0]
    assert sorted(recipients) == ["mlops@example.com", "owner@example.com"]
    assert message["Subject"] == f"[Pilotlight] Critical: {watched['initiative'].key}: {watched['rule'].name}"
    alert.refresh_from_db()
    assert alert.notified_at is not None

    # when a sync brings nothing new, the alert is not touched
    stamp = alert.updated_at
    mlflow_sync(connection_id=connection.pk, full=False)
    alert.refresh_from_db()
    assert alert.updated_at == stamp

    # when the drift score falls back below the limit
    _log_day(mlflow_client, watched, 4, 0.1)
    result = mlflow_sync(connection_id=connection.pk, full=True)

    # then the alert resolved itself, and no further email was sent
    alert.refresh_from_db()
    assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, Resolution.AUTO)
    assert result.alerts_resolved == 1
    assert len(smtp.messages) == 1


def test_acknowledge_then_resolve_by_hand_and_the_same_breach_does_not_reopen(admin_user, unit_a):
    # given an open alert on a threshold rule whose data keeps breaching (staleness: no run at all is not stale,
    # so use a threshold on runs created directly)
    from tests.mlops.factories import make_connection, make_run

    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Triage")
    conn = make_connection(admin_user)
    make_run(conn, initiative, metrics={"auc": 0.6})
    rule = rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.8)
    alert = Alert.objects.get(rule=rule)
    assert alert.status == AlertStatus.OPEN

    # when it is acknowledged, then resolved by hand
    alert_acknowledge(actor=admin_user, alert=alert)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by == admin_user
    alert_resolve(actor=admin_user, alert=alert, note="Known issue, retraining next week.")
    alert.refresh_from_db()
    assert (alert.status, alert.resolution, alert.resolved_by) == (AlertStatus.RESOLVED, Resolution.MANUAL,
                                                                   admin_user)
    assert alert.message.endswith("Resolved: Known issue, retraining next week.")

    # then re-evaluating the same breach does not reopen it
    monitoring_evaluate()
    assert Alert.objects.filter(rule=rule).count() == 1

    # but a new breach episode (after a good value) opens a new alert
    make_run(conn, initiative, metrics={"auc": 0.9}, offset_minutes=10)
    monitoring_evaluate()
    make_run(conn, initiative, metrics={"auc": 0.5}, offset_minutes=20)
    monitoring_evaluate()
    assert Alert.objects.filter(rule=rule, status=AlertStatus.OPEN).count() == 1
    assert Alert.objects.filter(rule=rule).count() == 2


def test_acknowledging_twice_and_resolving_a_resolved_alert_are_refused(admin_user, unit_a):
    from tests.mlops.factories import make_connection, make_run

    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Triage")
    make_run(make_connection(admin_user), initiative, metrics={"auc": 0.6})
    rule = rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.8)
    alert = Alert.objects.get(rule=rule)
    alert_acknowledge(actor=admin_user, alert=alert)
    with pytest.raises(ValidationError) as second:
        alert_acknowledge(actor=admin_user, alert=alert)
    assert second.value.message_dict == {"status": ["Only open alerts can be acknowledged; this one is "
                                                   "acknowledged."]}
    alert_resolve(actor=admin_user, alert=alert)
    with pytest.raises(ValidationError):
        alert_resolve(actor=admin_user, alert=alert)


def test_a_viewer_cannot_acknowledge(admin_user, unit_a, viewer_a):
    from tests.mlops.factories import make_connection, make_run

    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Triage")
    make_run(make_connection(admin_user), initiative, metrics={"auc": 0.6})
    rule = rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.8)
    with pytest.raises(PermissionDenied):
        alert_acknowledge(actor=viewer_a, alert=Alert.objects.get(rule=rule))
    assert Alert.objects.get(rule=rule).status == AlertStatus.OPEN


def test_pausing_a_rule_resolves_its_alert(admin_user, unit_a):
    from tests.mlops.factories import make_connection, make_run

    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Triage")
    make_run(make_connection(admin_user), initiative, metrics={"auc": 0.6})
    rule = rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.8)
    rule_update(actor=admin_user, rule=rule, active=False)
    alert = Alert.objects.get(rule=rule)
    assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, Resolution.MANUAL)


def test_rule_validation_names_the_fields_and_writes_nothing(admin_user, unit_a):
    from apps.mlops.models import MonitoringRule

    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Triage")
    with pytest.raises(ValidationError) as threshold:
        rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="")
    assert threshold.value.message_dict == {
        "metric_key": ["Name the MLflow metric to watch, e.g. auc or psi_income."],
        "min_value": ["Give a minimum, a maximum or both."],
    }
    with pytest.raises(ValidationError) as drop:
        rule_create(actor=admin_user, initiative=initiative, kind="relative_drop", metric_key="auc",
                    drop_tolerance=5, recipients=["not-an-email"])
    assert drop.value.message_dict == {
        "drop_tolerance": ["The tolerated drop is a share between 0 and 1, e.g. 0.05 for 5%."],
        "recipients": ["“not-an-email” is not an email address."],
    }
    assert not MonitoringRule.objects.exists()
    drift = rule_create(actor=admin_user, initiative=initiative, kind="drift", metric_key="psi")
    assert drift.drift_limit == 0.25 and drift.name == "Drift score above limit: psi"
