"""`make demo` support: a seeded local MLflow server with a healthy, a drifting, a stale and an unowned model."""

from __future__ import annotations

import pytest

from apps.mlops.choices import AlertStatus
from apps.mlops.demo import demo_connect, seed_demo_mlflow, start_demo_mlflow_server
from apps.mlops.models import Alert, RegisteredModel
from apps.mlops.selectors import readiness_compute, unlinked_production_models
from tests.factories import make_initiative
from tests.mlops.conftest import free_port, stop_process

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_server_is_seeded_once_and_syncs_into_alerts_and_readiness(tmp_path, admin_user, unit_a, executive):
    # given three demo initiatives and a demo MLflow server under var/
    healthy, drifting, stale = (make_initiative(actor=admin_user, unit=unit_a, name=name, owner=executive,
                                                sponsor=executive)
                                for name in ("Fraud", "Churn", "Claims"))
    keys = [healthy.key, drifting.key, stale.key]
    url, process = start_demo_mlflow_server(tmp_path, port=free_port())
    try:
        # when it is seeded twice and connected
        first = seed_demo_mlflow(url, keys, store_path=tmp_path / "mlflow" / "mlflow.db")
        second = seed_demo_mlflow(url, keys, store_path=tmp_path / "mlflow" / "mlflow.db")
        outcome = demo_connect(url, keys)
    finally:
        stop_process(process)

    # then the second seed added nothing and the sync stored everything
    assert first["created"] > 70 and second == {"created": 0}
    assert outcome["sync"]["status"] == "succeeded"
    # the drifting model has a critical drift alert and a decay alert; the stale one is overdue; the healthy none
    open_alerts = {(a.initiative.key, a.rule.name) for a in Alert.objects.filter(status=AlertStatus.OPEN)}
    assert (drifting.key, "Input drift (PSI)") in open_alerts
    assert (drifting.key, "AUC decay vs previous month") in open_alerts
    assert (stale.key, "Retraining overdue") in open_alerts
    assert not any(key == healthy.key for key, _ in open_alerts)
    # the pricing model serves in production without an initiative
    assert [m.name for m in unlinked_production_models(user=admin_user)] == ["pricing-optimizer"]
    # readiness: the healthy initiative is far ahead of the stale one
    cards = readiness_compute(initiative_ids=[healthy.pk, stale.pk])
    assert cards[healthy.pk].score > cards[stale.pk].score
    assert {c.code: c.status for c in cards[stale.pk].checks}["retrained_recently"] == "fail"
    assert RegisteredModel.objects.get(name="fraud-detector").aliases == {"production": 3}


def test_mlflow_demo_command_seeds_connects_and_reports(monkeypatch, admin_user, unit_a):
    from io import StringIO

    from django.core.management import call_command

    from apps.mlops import demo

    calls = []
    monkeypatch.setattr(demo, "seed_demo_mlflow", lambda url, keys: calls.append(("seed", url, keys)) or
                        {"created": 77})
    monkeypatch.setattr(demo, "demo_connect", lambda url, keys: calls.append(("connect", url, keys)) or
                        {"sync": {"status": "succeeded", "counts": {"runs_seen": 77}, "alerts_opened": 3}})
    out = StringIO()
    call_command("mlflow_demo", "--url", "http://127.0.0.1:5055", "--keys", "ai-2,AI-12,AI-1", stdout=out)
    assert calls == [("seed", "http://127.0.0.1:5055", ["AI-2", "AI-12", "AI-1"]),
                     ("connect", "http://127.0.0.1:5055", ["AI-2", "AI-12", "AI-1"])]
    assert out.getvalue().strip() == ("MLflow demo at http://127.0.0.1:5055: 77 runs seeded for AI-2, AI-12, AI-1; "
                                      "sync succeeded (77 runs, 3 alerts opened).")
