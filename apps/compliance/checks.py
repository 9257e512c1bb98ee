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
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery

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


def _installed(app_label: str) -> bool:
    return django_apps.is_installed(f"apps.{app_label}")


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


# --- MLOps facts (apps.mlops) ---------------------------------------------------------------------------------------


def _no_data(qs: QuerySet[Initiative]) -> Iterator[Facts]:
    return _rows(qs, unavailable=F("id") - F("id"))


@register(CheckCode.MODEL_VERSIONED, Severity.MEDIUM, _no_data)
def model_versioned(row: Facts) -> Outcome:
    return False, "No model registry data: link the initiative's MLflow models."


@register(CheckCode.MONITORING_ACTIVE, Severity.HIGH, _no_data)
def monitoring_active(row: Facts) -> Outcome:
    return False, "No monitoring data: add a monitoring rule for the initiative's model."


@register(CheckCode.MODEL_CARD_PRESENT, Severity.MEDIUM, _no_data)
def model_card_present(row: Facts) -> Outcome:
    return False, "No model card found."


@register(CheckCode.LINEAGE_LOGGED, Severity.MEDIUM, _no_data)
def lineage_logged(row: Facts) -> Outcome:
    return False, "No data lineage logged."


@register(CheckCode.COSTS_ALLOCATED, Severity.LOW, _no_data)
def costs_allocated(row: Facts) -> Outcome:
    return False, "No costs allocated to the initiative."


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
    """MLOps readiness for the production gate: (all pass, the failing ones with their reasons)."""
    outcomes = run_checks_for(initiative, READINESS_CHECKS)
    failing = [reason for passed, reason in outcomes.values() if not passed]
    return (not failing, " ".join(failing))
