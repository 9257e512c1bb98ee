"""MLOps readiness scorecard: each check's pass/fail and reason, the score, and the history kept after syncs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from apps.mlops.models import ReadinessSnapshot
from apps.mlops.selectors import readiness_compute
from apps.mlops.services import mlflow_sync, readiness_record, rule_create
from tests.factories import make_initiative, make_kpi, make_user
from tests.mlops.factories import make_connection, make_model, make_run
from tests.mlops.helpers import seed_run

pytestmark = pytest.mark.django_db


def checks(card) -> dict[str, tuple[str, str]]:
    return {check.code: (check.status, check.reason) for check in card.checks}


def test_an_initiative_with_nothing_fails_each_check_with_a_reason(admin_user, unit_a):
    # given an initiative without owner, sponsor, model, rule or KPI
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Bare", owner=None)

    # when its readiness is computed
    card = readiness_compute(initiative_ids=[initiative.pk])[initiative.pk]

    # then every check fails and says why
    result = checks(card)
    assert result["model_versioned"][0] == "fail"
    assert result["model_versioned"][1].startswith("No registered model version is linked")
    assert result["production_alias"] == ("fail", "No linked model version holds the “production” or “champion” "
                                                  "alias.")
    assert result["monitoring_active"][1] == "No active monitoring rule: add one on a quality or drift metric."
    assert result["retrained_recently"] == ("fail", "No model version or finished run yet.")
    assert result["ci_evidence"] == ("fail", "No serving model version to inspect.")
    assert result["kpi_defined"] == ("fail", "No KPI with a baseline and a target.")
    assert result["costs_mapped"] == ("fail", "No cost records are allocated to this initiative.")
    assert result["owner_sponsor"] == ("fail", "No owner and no sponsor set.")
    assert (card.passed, card.applicable, card.score) == (0, 10, 0)


def test_a_ready_initiative_passes_with_reasons_naming_the_evidence(admin_user, unit_a, executive):
    # given an initiative with owner and sponsor, a KPI, a rule, and a champion version built by CI from a run
    # that logged its training data
    owner = make_user(unit=unit_a, username="olivia", first_name="Olivia", last_name="Owner")
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Ready", owner=owner, sponsor=executive)
    make_kpi(actor=admin_user, initiative=initiative, baseline_value=Decimal("100"), target_value=Decimal("80"),
             baseline_date=date(2026, 1, 1), target_date=date(2026, 12, 31))
    conn = make_connection(admin_user)
    run = make_run(conn, initiative, metrics={"auc": 0.9}, datasets=2)
    make_model(conn, initiative, name="scorer", versions=3, aliases={"production": 3}, description="Model card.",
               version_tags={"mlflow.source.git.commit": "9f2c1e"}, run=run)
    rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.8)

    # when its readiness is computed
    card = readiness_compute(initiative_ids=[initiative.pk])[initiative.pk]

    # then every check but costs (no cost records allocated) passes, each naming its evidence
    result = checks(card)
    assert result["model_versioned"] == ("pass", "3 version(s) registered (scorer).")
    assert result["production_alias"] == ("pass", "scorer v3 holds the “production” alias.")
    assert result["monitoring_active"] == ("pass", "1 active monitoring rule(s).")
    assert result["retrained_recently"][0] == "pass"
    assert result["ci_evidence"] == ("pass", "scorer v3 carries the tag mlflow.source.git.commit.")
    assert result["model_card"] == ("pass", "Model card found: registered model description.")
    assert result["data_lineage"] == ("pass", "The source run of scorer v3 logged 2 dataset input(s).")
    assert result["kpi_defined"] == ("pass", "1 KPI(s) with a baseline and a target.")
    assert result["owner_sponsor"][0] == "pass" and "Olivia Owner" in result["owner_sponsor"][1]
    assert result["costs_mapped"] == ("fail", "No cost records are allocated to this initiative.")
    assert (card.passed, card.applicable, card.score) == (9, 10, 90)


def test_costs_are_not_counted_when_no_cost_app_answers(admin_user, unit_a, monkeypatch):
    from apps.mlops import selectors

    monkeypatch.setattr(selectors, "_costs_mapped", lambda initiative_ids: None)
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="No costs app")
    card = readiness_compute(initiative_ids=[initiative.pk])[initiative.pk]
    assert checks(card)["costs_mapped"] == ("n/a", "Cost tracking is not set up; not counted.")
    assert card.applicable == 9


def test_stale_training_and_a_champion_without_ci_or_lineage_fail(admin_user, unit_a, settings):
    # given a champion version registered 200 days ago from a run without dataset inputs, and no CI tag
    settings.MLOPS_RETRAIN_WINDOW_DAYS = 90
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Old")
    conn = make_connection(admin_user)
    run = make_run(conn, None, metrics={"auc": 0.9})
    make_model(conn, initiative, name="old-model", versions=1, aliases={"champion": 1}, run=run,
               created_days_ago=200)

    # when computed
    result = checks(readiness_compute(initiative_ids=[initiative.pk])[initiative.pk])

    # then the training window, CI, card and lineage checks fail with their reasons
    assert result["retrained_recently"] == ("fail", "Last trained 200 days ago, beyond the 90-day window.")
    assert result["ci_evidence"][1] == ("old-model v1 has no mlflow.source.git.commit or CI URL tag (on the version "
                                        "or its run).")
    assert result["model_card"] == ("fail", "old-model v1 has no description, no model_card tag and no model card "
                                            "file among its artifacts.")
    assert result["data_lineage"] == ("fail", "The source run of old-model v1 logged no dataset inputs "
                                              "(mlflow.log_input).")


def test_readiness_of_many_initiatives_takes_a_fixed_number_of_queries(admin_user, unit_a):
    conn = make_connection(admin_user)

    def build(count: int) -> list[int]:
        ids = []
        for _ in range(count):
            initiative = make_initiative(actor=admin_user, unit=unit_a, name="Many")
            run = make_run(conn, initiative, metrics={"auc": 0.9}, datasets=1)
            make_model(conn, initiative, run=run)
            ids.append(initiative.pk)
        return ids

    few, many = build(5), None
    with CaptureQueriesContext(db) as small:
        readiness_compute(initiative_ids=few)
    many = few + build(45)
    with CaptureQueriesContext(db) as large:
        assert len(readiness_compute(initiative_ids=many)) == 50
    assert len(small.captured_queries) == len(large.captured_queries)


def test_history_is_recorded_only_when_a_check_changes(admin_user, unit_a):
    # given an initiative recorded once
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="History")
    assert readiness_record(initiative_ids=[initiative.pk]) == 1
    # when nothing changes, recording again stores nothing
    assert readiness_record(initiative_ids=[initiative.pk]) == 0
    # when a rule is added, a new snapshot with a higher score is stored
    conn = make_connection(admin_user)
    make_run(conn, initiative, metrics={"auc": 0.9})
    rule_create(actor=admin_user, initiative=initiative, kind="threshold", metric_key="auc", min_value=0.5)
    assert readiness_record(initiative_ids=[initiative.pk]) == 1
    scores = list(ReadinessSnapshot.objects.filter(initiative=initiative).order_by("computed_at")
                  .values_list("score", flat=True))
    assert len(scores) == 2 and scores[1] > scores[0]


@pytest.mark.slow
def test_readiness_after_a_real_sync_reads_ci_lineage_and_card_from_mlflow(connection, admin_user, unit_a,
                                                                           mlflow_client, suffix):
    # given an MLflow run with a dataset input and a git commit, registered as a described production model
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Synced")
    experiment_id = mlflow_client.create_experiment(f"ready-{suffix}", tags={"pilotlight.initiative": initiative.key})
    run = seed_run(mlflow_client, experiment_id, name="train", metrics={"auc": 0.91}, dataset="loans",
                   tags={"mlflow.source.git.commit": "c0ffee"})
    name = f"ready-model-{suffix}"
    mlflow_client.create_registered_model(name, tags={"pilotlight.initiative": initiative.key})
    mlflow_client.create_model_version(name, source=f"runs:/{run.run_id}/model", run_id=run.run_id,
                                       description="Scores loan applications.")
    mlflow_client.set_registered_model_alias(name, "production", "1")

    # when synced
    mlflow_sync(connection_id=connection.pk)

    # then the checks that read MLflow pass, and a snapshot was recorded by the sync
    result = checks(readiness_compute(initiative_ids=[initiative.pk])[initiative.pk])
    assert result["production_alias"] == ("pass", f"{name} v1 holds the “production” alias.")
    assert result["ci_evidence"] == ("pass", f"{name} v1 carries the tag mlflow.source.git.commit.")
    assert result["data_lineage"] == ("pass", f"The source run of {name} v1 logged 1 dataset input(s).")
    assert result["model_card"] == ("pass", "Model card found: version description.")
    snapshot = ReadinessSnapshot.objects.get(initiative=initiative)
    assert snapshot.checks == [check.as_dict() for check in readiness_compute(
        initiative_ids=[initiative.pk])[initiative.pk].checks]


@pytest.mark.slow
def test_a_model_card_file_among_the_source_run_artifacts_counts(connection, admin_user, unit_a, mlflow_client,
                                                                 suffix, tmp_path):
    # given a production version without description whose source run logged model/MODEL_CARD.md
    initiative = make_initiative(actor=admin_user, unit=unit_a, name="Carded")
    experiment_id = mlflow_client.create_experiment(f"carded-{suffix}", tags={"pilotlight.initiative": initiative.key})
    run = seed_run(mlflow_client, experiment_id, name="train", finish=False)
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# Intended use\nScoring only.\n")
    mlflow_client.log_artifact(run.run_id, str(card), artifact_path="model")
    mlflow_client.set_terminated(run.run_id)
    name = f"carded-model-{suffix}"
    mlflow_client.create_registered_model(name, tags={"pilotlight.initiative": initiative.key})
    mlflow_client.create_model_version(name, source=f"runs:/{run.run_id}/model", run_id=run.run_id)
    mlflow_client.set_registered_model_alias(name, "production", "1")

    # when synced
    mlflow_sync(connection_id=connection.pk)

    # then the card file is found, and a further sync lists no artifacts again
    result = checks(readiness_compute(initiative_ids=[initiative.pk])[initiative.pk])
    assert result["model_card"] == ("pass", "Model card found: model/MODEL_CARD.md among the source run's "
                                            "artifacts.")

