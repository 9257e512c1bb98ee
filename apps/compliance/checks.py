"""Automated checks: "evidence from telemetry". Each check is two small parts:

- `facts(initiatives)`: ONE query over a queryset of initiatives returning a row of facts per initiative, so a whole
  portfolio is checked with one query per check, never one per initiative;
- `judge(row) -> (passed, reason)`: a pure function deciding from those facts, with a sentence saying why.

Requirements name the checks that prove them (Requirement.checks); the compliance audit turns failures into
Findings and updates automatic RequirementResults; gate criteria can require a check to pass. Checks over MLOps
and cost data read apps.mlops / apps.costs models through their own fields only (the compliance app never writes
them) and report "no data" when that integration is not installed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps as django_apps
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Exists, OuterRef, QuerySet, Subquery, Value

from apps.compliance.choices import CheckCode, EvidenceCategory, Severity
from apps.compliance.models import DataAssetLink, Evidence, RiskClassification
from apps.kpis.models import KPI
from apps.portfolio.models import Initiative

Facts = dict[str, Any]
Outcome = tuple[bool, str]


@dataclass(frozen=True)
class Check:
    code: str
    title: str
    severity: str
    facts: Callable[[QuerySet[Initiative]], Iterable[Facts]]
    judge: Callable[[Facts], Outcome]

    def run(self, initiatives: QuerySet[Initiative]) -> Iterator[tuple[int, bool, str]]:
        """(initiative id, passed, reason) for every initiative of the queryset, from one query."""
        for row in self.facts(initiatives):
            passed, reason = self.judge(row)
            yield row["id"], passed, reason


REGISTRY: dict[str, Check] = {}


def register(code: CheckCode, severity: Severity, facts: Callable[[QuerySet[Initiative]], Iterable[Facts]]):
    """Decorator: register a judge function with its facts query under a check code."""

    def decorator(judge: Callable[[Facts], Outcome]) -> Callable[[Facts], Outcome]:
        REGISTRY[str(code)] = Check(code=str(code), title=code.label, severity=str(severity), facts=facts, judge=judge)
        return judge

    return decorator


def _rows(queryset: QuerySet, *fields: str, **annotations) -> Iterator[Facts]:
    return queryset.order_by().annotate(**annotations).values("id", *fields, *annotations).iterator(chunk_size=5000)


# --- portfolio facts ------------------------------------------------------------------------------------------------


@register(CheckCode.OWNER_SPONSOR_SET, Severity.MEDIUM, lambda qs: _rows(qs, "owner_id", "sponsor_id"))
def owner_sponsor_set(row: Facts) -> Outcome:
    missing = [name for name, key in (("owner", "owner_id"), ("executive sponsor", "sponsor_id")) if not row[key]]
    if missing:
        return False, f"No {' and no '.join(missing)} set."
    return True, "Owner and executive sponsor are set."


@register(
    CheckCode.KPI_BASELINE_TARGET, Severity.MEDIUM,
    lambda qs: _rows(qs, has_kpi=Exists(KPI.objects.filter(
        initiative=OuterRef("pk"), baseline_value__isnull=False, baseline_date__isnull=False,
        target_value__isnull=False, target_date__isnull=False,
    ))),
)
def kpi_baseline_target(row: Facts) -> Outcome:
    if row["has_kpi"]:
        return True, "At least one KPI has a dated baseline and target."
    return False, "No KPI with a baseline and a target: value cannot be shown."


# --- compliance facts -----------------------------------------------------------------------------------------------


def _latest_classification(field: str) -> Subquery:
    return Subquery(RiskClassification.objects.filter(initiative=OuterRef("pk")).order_by("-classified_at", "-id")
                    .values(field)[:1])


@register(
    CheckCode.CLASSIFICATION_DONE, Severity.HIGH,
    lambda qs: _rows(qs, "risk_tier", "operator_role", recorded_tier=_latest_classification("risk_tier"),
                     recorded_role=_latest_classification("operator_role")),
)
def classification_done(row: Facts) -> Outcome:
    if row["recorded_tier"] is None:
        return False, "No EU AI Act classification recorded: answer the questionnaire."
    if (row["recorded_tier"], row["recorded_role"]) != (row["risk_tier"], row["operator_role"]):
        return False, (f"The initiative says {row['risk_tier']}/{row['operator_role']} but the recorded "
                       f"classification says {row['recorded_tier']}/{row['recorded_role']}: classify it again.")
    if row["risk_tier"] == "prohibited":
        return False, "Classified as a prohibited practice (Art. 5): it must not be developed or used."
    return True, f"Classified {row['risk_tier']} risk, {row['operator_role']}."


def _current_evidence(**filters) -> QuerySet[Evidence]:
    return Evidence.objects.filter(initiative=OuterRef("pk"), superseded_by__isnull=True, **filters)


@register(
    CheckCode.DPIA_PRESENT, Severity.HIGH,
    lambda qs: _rows(qs, "processes_personal_data",
                     has_dpia=Exists(_current_evidence(category=EvidenceCategory.DPIA))),
)
def dpia_present(row: Facts) -> Outcome:
    if not row["processes_personal_data"]:
        return True, "No personal data processed: no DPIA needed."
    if row["has_dpia"]:
        return True, "DPIA evidence is on file."
    return False, "Personal data is processed but no DPIA evidence is on file (GDPR Art. 35)."


@register(
    CheckCode.DATA_RETENTION_SET, Severity.MEDIUM,
    lambda qs: _rows(
        qs, "processes_personal_data",
        has_assets=Exists(DataAssetLink.objects.filter(initiative=OuterRef("pk"))),
        missing=Subquery(
            DataAssetLink.objects.filter(initiative=OuterRef("pk"), data_asset__retention_days__isnull=True)
            .order_by().values("initiative").annotate(names=ArrayAgg("data_asset__name", order_by="data_asset__name"))
            .values("names")[:1]
        ),
    ),
)
def data_retention_set(row: Facts) -> Outcome:
    if row["missing"]:
        return False, f"No retention period on: {', '.join(row['missing'])}."
    if not row["has_assets"]:
        if row["processes_personal_data"]:
            return False, "Personal data is processed but no data asset is linked, so retention is unknown."
        return True, "No data assets linked and no personal data processed."
    return True, "Every linked data asset has a retention period."


# --- MLOps facts (apps.mlops, read-only) ----------------------------------------------------------------------------


def _model(label: str, name: str):
    """A model of another app, or None when that app is not installed (the check then reports no data)."""
    if not django_apps.is_installed(f"apps.{label}"):
        return None
    return django_apps.get_model(label, name)


def _model_facts(qs: QuerySet[Initiative]) -> Iterator[Facts]:
    registered, version = _model("mlops", "RegisteredModel"), _model("mlops", "ModelVersion")
    if registered is None:
        return _rows(qs, available=Value(False))
    return _rows(
        qs, available=Value(True),
        has_version=Exists(version.objects.filter(registered_model__initiative=OuterRef("pk"))),
        has_alias=Exists(registered.objects.filter(initiative=OuterRef("pk")).exclude(aliases={})),
    )


@register(CheckCode.MODEL_VERSIONED, Severity.MEDIUM, _model_facts)
def model_versioned(row: Facts) -> Outcome:
    if not row["available"]:
        return False, "MLflow integration is not installed: no model registry data."
    if not row["has_version"]:
        return False, "No registered model version is linked (link a registered model or tag it " \
                      "pilotlight.initiative=<key>)."
    if not row["has_alias"]:
        return False, "Model versions are registered but none holds an alias (e.g. champion or production)."
    return True, "A registered model version holds an alias."


def _monitoring_facts(qs: QuerySet[Initiative]) -> Iterator[Facts]:
    rule, alert = _model("mlops", "MonitoringRule"), _model("mlops", "Alert")
    if rule is None:
        return _rows(qs, available=Value(False))
    return _rows(
        qs, available=Value(True),
        has_rule=Exists(rule.objects.filter(initiative=OuterRef("pk"), active=True)),
        critical=Subquery(
            alert.objects.filter(initiative=OuterRef("pk"), severity="critical").exclude(status="resolved")
            .order_by().values("initiative").annotate(titles=ArrayAgg("title", order_by="title")).values("titles")[:1]
        ),
    )


@register(CheckCode.MONITORING_ACTIVE, Severity.HIGH, _monitoring_facts)
def monitoring_active(row: Facts) -> Outcome:
    if not row["available"]:
        return False, "MLflow integration is not installed: no monitoring data."
    if not row["has_rule"]:
        return False, "No active monitoring rule: add one on a quality or drift metric."
    if row["critical"]:
        return False, f"Open critical alert: {'; '.join(row['critical'])}."
    return True, "Monitoring is active and no critical alert is open."


def _scorecard_facts(check: str) -> Callable[[QuerySet[Initiative]], Iterator[Facts]]:
    """Facts from the MLOps readiness scorecard (apps.mlops.selectors.readiness_compute: a fixed number of queries
    for any number of initiatives), so model card and lineage mean the same here as on the Models tab."""

    def facts(qs: QuerySet[Initiative]) -> Iterator[Facts]:
        if not django_apps.is_installed("apps.mlops"):
            return ({"id": pk, "status": None, "reason": ""} for pk in qs.values_list("id", flat=True))
        from apps.mlops.selectors import readiness_compute

        ids = list(qs.order_by().values_list("id", flat=True))
        cards = readiness_compute(initiative_ids=ids)
        rows = []
        for pk in ids:
            found = next((c for c in cards[pk].checks if c.code == check), None) if pk in cards else None
            rows.append({"id": pk, "status": found.status if found else None, "reason": found.reason if found else ""})
        return rows

    return facts


def _from_scorecard(row: Facts, missing: str) -> Outcome:
    if row["status"] is None:
        return False, missing
    return row["status"] == "pass", row["reason"]


@register(CheckCode.MODEL_CARD_PRESENT, Severity.MEDIUM, _scorecard_facts("model_card"))
def model_card_present(row: Facts) -> Outcome:
    return _from_scorecard(row, "MLflow integration is not installed: no model card found.")


@register(CheckCode.LINEAGE_LOGGED, Severity.MEDIUM, _scorecard_facts("data_lineage"))
def lineage_logged(row: Facts) -> Outcome:
    return _from_scorecard(row, "MLflow integration is not installed: no data lineage found.")


# --- cost facts (apps.costs, read-only) -----------------------------------------------------------------------------


def _cost_facts(qs: QuerySet[Initiative]) -> Iterator[Facts]:
    daily = _model("costs", "CostDaily")
    if daily is None:
        return _rows(qs, available=Value(False))
    return _rows(qs, available=Value(True), has_cost=Exists(daily.objects.filter(initiative=OuterRef("pk"))))


@register(CheckCode.COSTS_ALLOCATED, Severity.LOW, _cost_facts)
def costs_allocated(row: Facts) -> Outcome:
    if not row["available"]:
        return False, "Cost tracking is not installed."
    if row["has_cost"]:
        return True, "Cloud costs are allocated to the initiative."
    return False, "No cloud cost is allocated to the initiative (tag resources pilotlight-initiative=<key> or add " \
                  "an allocation rule)."


def run_check(code: str, initiatives: QuerySet[Initiative]) -> dict[int, Outcome]:
    """One check over the initiatives: {initiative id: (passed, reason)}."""
    return {initiative_id: (passed, reason) for initiative_id, passed, reason in REGISTRY[code].run(initiatives)}


def run_checks_for(initiative: Initiative, codes: Iterable[str] | None = None) -> dict[str, Outcome]:
    """Every (or the named) check for one initiative: {code: (passed, reason)}."""
    queryset = Initiative.objects.filter(pk=initiative.pk)
    outcomes = {}
    for code in codes if codes is not None else REGISTRY:
        outcomes[code] = run_check(code, queryset).get(initiative.pk, (False, "Initiative not found."))
    return outcomes


READINESS_CHECKS = (CheckCode.MODEL_VERSIONED, CheckCode.MONITORING_ACTIVE, CheckCode.MODEL_CARD_PRESENT,
                    CheckCode.LINEAGE_LOGGED)


def readiness_for(initiative: Initiative) -> tuple[bool, str]:
    """MLOps readiness for the production gate: every applicable check of the MLOps readiness scorecard passes
    (apps.mlops); without that app, our own MLOps checks. Returns (ready, the failing checks with reasons)."""
    if django_apps.is_installed("apps.mlops"):
        from apps.mlops.selectors import readiness_compute

        card = readiness_compute(initiative_ids=[initiative.pk]).get(initiative.pk)
        failing = [check.label.lower() for check in (card.checks if card else []) if check.status == "fail"]
        if card is None:
            return False, "no readiness data"
        return not failing, (f"failing: {'; '.join(failing)} (see the Models tab)" if failing else "")
    outcomes = run_checks_for(initiative, READINESS_CHECKS)
    failing = [reason for passed, reason in outcomes.values() if not passed]
    return (not failing, " ".join(failing))
