"""Each automated check passes and fails on the facts it reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.compliance.checks import REGISTRY, run_check, run_checks_for
from apps.compliance.choices import CheckCode, EvidenceCategory
from apps.compliance.services import data_asset_create, data_asset_link, evidence_upload
from apps.costs.models import CostDaily
from apps.mlops.models import Alert, Experiment, MLflowConnection, ModelVersion, MonitoringRule, RegisteredModel, Run
from apps.portfolio.models import Initiative
from apps.portfolio.services import initiative_update
from tests.compliance.helpers import classify, pdf_upload
from tests.factories import make_initiative, make_kpi

pytestmark = pytest.mark.django_db


def check(initiative, code: str) -> tuple[bool, str]:
    return run_checks_for(initiative, [code])[code]


@pytest.fixture
def initiative(unit_a, lead_a):
    return make_initiative(actor=lead_a, unit=unit_a, owner=lead_a)


def test_every_check_code_has_a_check():
    assert set(REGISTRY) == set(CheckCode.values)


def test_owner_and_sponsor(initiative, lead_a):
    assert check(initiative, "owner_sponsor_set") == (False, "No executive sponsor set.")
    initiative_update(actor=lead_a, initiative=initiative, sponsor=lead_a)
    assert check(initiative, "owner_sponsor_set") == (True, "Owner and executive sponsor are set.")


def test_kpi_with_baseline_and_target(initiative, lead_a):
    assert check(initiative, "kpi_baseline_target")[0] is False
    make_kpi(actor=lead_a, initiative=initiative)
    assert check(initiative, "kpi_baseline_target") == (True, "At least one KPI has a dated baseline and target.")


def test_classification_done(initiative, lead_a):
    assert check(initiative, "classification_done") == (
        False, "No EU AI Act classification recorded: answer the questionnaire.")
    classify(lead_a, initiative, {"annex_iii_area": "employment", "role": "deployer"})
    assert check(initiative, "classification_done") == (True, "Classified high risk, deployer.")
    # a tier edited by hand no longer matches the recorded classification
    initiative_update(actor=lead_a, initiative=initiative, risk_tier="minimal")
    passed, reason = check(initiative, "classification_done")
    assert not passed and "recorded classification says high/deployer" in reason
    classify(lead_a, initiative, {"p_face_scraping": True})
    assert check(initiative, "classification_done")[0] is False


def test_dpia_when_personal_data_is_processed(initiative, lead_a):
    assert check(initiative, "dpia_present") == (True, "No personal data processed: no DPIA needed.")
    initiative_update(actor=lead_a, initiative=initiative, processes_personal_data=True)
    assert check(initiative, "dpia_present")[0] is False
    evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload(), title="Test report",
                    category=EvidenceCategory.TEST_REPORT)
    assert check(initiative, "dpia_present")[0] is False
    evidence_upload(actor=lead_a, initiative=initiative, file=pdf_upload(), title="DPIA", category="dpia")
    assert check(initiative, "dpia_present") == (True, "DPIA evidence is on file.")


def test_retention_on_every_linked_data_asset(initiative, lead_a, unit_a):
    initiative_update(actor=lead_a, initiative=initiative, processes_personal_data=True)
    assert check(initiative, "data_retention_set")[0] is False
    claims = data_asset_create(actor=lead_a, business_unit=unit_a, name="Claims history", retention_days=3650,
                               personal_data_categories=["identity", "claims"], legal_basis="contract")
    photos = data_asset_create(actor=lead_a, business_unit=unit_a, name="Damage photos",
                               personal_data_categories=["images"], legal_basis="contract")
    data_asset_link(actor=lead_a, data_asset=claims, initiative=initiative)
    data_asset_link(actor=lead_a, data_asset=photos, initiative=initiative)
    assert check(initiative, "data_retention_set") == (False, "No retention period on: Damage photos.")
    from apps.compliance.services import data_asset_update

    data_asset_update(actor=lead_a, data_asset=photos, retention_days=730)
    assert check(initiative, "data_retention_set") == (True, "Every linked data asset has a retention period.")


@pytest.fixture
def mlflow(db):
    return MLflowConnection.objects.create(name="Test MLflow", tracking_uri="http://127.0.0.1:5999")


def _model(mlflow, initiative, *, aliases: dict, description: str = "", run: Run | None = None) -> RegisteredModel:
    now = timezone.now()
    model = RegisteredModel.objects.create(connection=mlflow, synced_at=now, name=f"model-{initiative.key}",
                                           aliases=aliases, initiative=initiative, description=description)
    ModelVersion.objects.create(registered_model=model, version=1, aliases=list(aliases), synced_at=now,
                                mlflow_created_at=now, run_id=run.run_id if run else "")
    return model


def test_model_versioned_with_an_alias(initiative, mlflow):
    assert check(initiative, "model_versioned")[0] is False
    model = _model(mlflow, initiative, aliases={})
    assert check(initiative, "model_versioned") == (
        False, "Model versions are registered but none holds an alias (e.g. champion or production).")
    RegisteredModel.objects.filter(pk=model.pk).update(aliases={"champion": 1})
    assert check(initiative, "model_versioned") == (True, "A registered model version holds an alias.")


def test_monitoring_active_without_an_open_critical_alert(initiative):
    assert check(initiative, "monitoring_active") == (
        False, "No active monitoring rule: add one on a quality or drift metric.")
    rule = MonitoringRule.objects.create(initiative=initiative, name="AUC floor", kind="threshold", metric_key="auc",
                                         min_value=0.7, severity="critical")
    assert check(initiative, "monitoring_active") == (True, "Monitoring is active and no critical alert is open.")
    now = timezone.now()
    alert = Alert.objects.create(rule=rule, initiative=initiative, severity="critical", title="AUC below 0.7",
                                 episode_start=now, opened_at=now)
    assert check(initiative, "monitoring_active") == (False, "Open critical alert: AUC below 0.7.")
    Alert.objects.filter(pk=alert.pk).update(status="resolved", resolved_at=now)
    assert check(initiative, "monitoring_active")[0] is True


def test_model_card_and_lineage_follow_the_mlops_scorecard(initiative, mlflow):
    assert check(initiative, "model_card_present")[0] is False
    assert check(initiative, "lineage_logged")[0] is False
    now = timezone.now()
    experiment = Experiment.objects.create(connection=mlflow, synced_at=now, experiment_id="1", name="claims")
    run = Run.objects.create(connection=mlflow, synced_at=now, run_id="abc123", experiment=experiment,
                             status="FINISHED", initiative=initiative,
                             datasets=[{"name": "claims-2026", "digest": "d41d8cd9"}])
    _model(mlflow, initiative, aliases={"production": 1}, description="Scores claims for fraud; see limits.",
           run=run)
    passed, reason = check(initiative, "model_card_present")
    assert passed and reason == "Model card found: registered model description."
    passed, reason = check(initiative, "lineage_logged")
    assert passed and "logged 1 dataset input(s)" in reason


def test_costs_allocated(initiative):
    assert check(initiative, "costs_allocated")[0] is False
    CostDaily.objects.create(source_id=1, day=date(2026, 10, 1), initiative=initiative, provider_name="AWS",
                             charge_category="Usage", billing_currency="EUR", billed_cost=Decimal("12.5"),
                             effective_cost=Decimal("12.5"), cost=Decimal("12.5"), records=3)
    assert check(initiative, "costs_allocated") == (True, "Cloud costs are allocated to the initiative.")


def test_a_check_over_the_portfolio_is_one_query_per_check(unit_a, lead_a, django_assert_max_num_queries):
    for index in range(30):
        make_initiative(actor=lead_a, unit=unit_a, name=f"I{index}")
    queryset = Initiative.objects.all()
    for code in ("owner_sponsor_set", "kpi_baseline_target", "classification_done", "dpia_present",
                 "data_retention_set", "model_versioned", "monitoring_active", "costs_allocated"):
        with django_assert_max_num_queries(1):
            assert len(run_check(code, queryset)) == 30
