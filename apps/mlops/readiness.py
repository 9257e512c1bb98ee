"""The MLOps readiness scorecard: pure rules from gathered facts to pass / fail / n/a checks with reasons.

apps.mlops.selectors.readiness_facts() gathers the facts for many initiatives in a fixed number of queries;
this module only decides. The score is the share of applicable checks that pass, as a whole percentage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from apps.mlops.choices import CheckStatus

CI_TAGS = ("mlflow.source.git.commit", "ci_url", "ci.url", "ci_run_url", "pilotlight.ci_url", "ci.run_url")
MODEL_CARD_TAGS = ("model_card", "model_card_url", "pilotlight.model_card", "mlflow.note.content")

CHECKS: tuple[tuple[str, str], ...] = (
    ("model_versioned", "Model versioned in the registry"),
    ("production_alias", "Production alias set"),
    ("monitoring_active", "Monitoring rule active"),
    ("retrained_recently", "Retrained within the window"),
    ("ci_evidence", "CI evidence on the serving version"),
    ("model_card", "Model card present"),
    ("data_lineage", "Data lineage logged"),
    ("kpi_defined", "KPI with baseline and target"),
    ("costs_mapped", "Costs mapped"),
    ("owner_sponsor", "Owner and sponsor set"),
)
LABELS = dict(CHECKS)


@dataclass(frozen=True)
class ServingVersion:
    """The version an initiative serves: the newest one holding a production alias, else the newest one."""

    model_name: str
    version: int
    aliases: tuple[str, ...]
    created_at: datetime | None
    ci_tag: str = ""  # the tag that proves a CI build, if any
    card_source: str = ""  # where the model card was found, if anywhere
    datasets: int = 0  # dataset inputs logged on its source run
    has_source_run: bool = False


@dataclass(frozen=True)
class ReadinessFacts:
    versions: int = 0
    models: tuple[str, ...] = ()
    serving: ServingVersion | None = None
    production_alias: str = ""  # the alias found, e.g. "production"
    active_rules: int = 0
    last_trained_at: datetime | None = None
    kpis_complete: int = 0
    costs_mapped: bool | None = None  # None: cost tracking is not set up
    owner: str = ""
    sponsor: str = ""


@dataclass(frozen=True)
class Check:
    code: str
    label: str
    status: str
    reason: str

    @property
    def passed(self) -> bool:
        return self.status == CheckStatus.PASS

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "label": self.label, "status": self.status, "reason": self.reason}


@dataclass(frozen=True)
class Scorecard:
    checks: list[Check] = field(default_factory=list)

    @property
    def applicable(self) -> int:
        return sum(1 for check in self.checks if check.status != CheckStatus.NOT_APPLICABLE)

    @property
    def passed(self) -> int:
        return sum(1 for check in self.checks if check.passed)

    @property
    def score(self) -> int:
        return round(100 * self.passed / self.applicable) if self.applicable else 0

    @property
    def signature(self) -> list[tuple[str, str]]:
        """What makes two scorecards the same for the history: each check's status."""
        return [(check.code, check.status) for check in self.checks]

    def as_list(self) -> list[dict[str, str]]:
        return [check.as_dict() for check in self.checks]


def _check(code: str, ok: bool | None, reason: str) -> Check:
    status = CheckStatus.NOT_APPLICABLE if ok is None else (CheckStatus.PASS if ok else CheckStatus.FAIL)
    return Check(code, LABELS[code], str(status), reason)


def scorecard(facts: ReadinessFacts, *, now: datetime, retrain_days: int, production_aliases: tuple[str, ...]
              ) -> Scorecard:
    """Decide every readiness check from the facts of one initiative."""
    serving = facts.serving
    checks = []
    if facts.versions:
        models = ", ".join(facts.models[:3]) + (" …" if len(facts.models) > 3 else "")
        checks.append(_check("model_versioned", True, f"{facts.versions} version(s) registered ({models})."))
    else:
        checks.append(_check("model_versioned", False, "No registered model version is linked to this initiative: "
                             "link a registered model or tag it pilotlight.initiative=<key>."))

    if facts.production_alias and serving is not None:
        checks.append(_check("production_alias", True, f"{serving.model_name} v{serving.version} holds the "
                             f"“{facts.production_alias}” alias."))
    else:
        names = " or ".join(f"“{alias}”" for alias in production_aliases)
        checks.append(_check("production_alias", False, f"No linked model version holds the {names} alias."))

    checks.append(_check("monitoring_active", facts.active_rules > 0,
                         f"{facts.active_rules} active monitoring rule(s)." if facts.active_rules
                         else "No active monitoring rule: add one on a quality or drift metric."))

    if facts.last_trained_at is None:
        checks.append(_check("retrained_recently", False, "No model version or finished run yet."))
    else:
        age = max(0, (now - facts.last_trained_at).days)
        ok = age <= retrain_days
        checks.append(_check("retrained_recently", ok, f"Last trained {age} day(s) ago (window {retrain_days} days)."
                             if ok else f"Last trained {age} days ago, beyond the {retrain_days}-day window."))

    if serving is None:
        for code in ("ci_evidence", "model_card", "data_lineage"):
            checks.append(_check(code, False, "No serving model version to inspect."))
    else:
        label = f"{serving.model_name} v{serving.version}"
        checks.append(_check("ci_evidence", bool(serving.ci_tag),
                             f"{label} carries the tag {serving.ci_tag}." if serving.ci_tag else
                             f"{label} has no mlflow.source.git.commit or CI URL tag (on the version or its run)."))
        checks.append(_check("model_card", bool(serving.card_source),
                             f"Model card found: {serving.card_source}." if serving.card_source else
                             f"{label} has no description, no model_card tag and no model card file among its "
                             "artifacts."))
        if serving.datasets:
            checks.append(_check("data_lineage", True, f"The source run of {label} logged {serving.datasets} "
                                 "dataset input(s)."))
        elif not serving.has_source_run:
            checks.append(_check("data_lineage", False, f"The source run of {label} is not synced (or has none)."))
        else:
            checks.append(_check("data_lineage", False, f"The source run of {label} logged no dataset inputs "
                                 "(mlflow.log_input)."))

    checks.append(_check("kpi_defined", facts.kpis_complete > 0,
                         f"{facts.kpis_complete} KPI(s) with a baseline and a target." if facts.kpis_complete
                         else "No KPI with a baseline and a target."))

    if facts.costs_mapped is None:
        checks.append(_check("costs_mapped", None, "Cost tracking is not set up; not counted."))
    else:
        checks.append(_check("costs_mapped", facts.costs_mapped, "Cost records are allocated to this initiative."
                             if facts.costs_mapped else "No cost records are allocated to this initiative."))

    missing = [role for role, who in (("owner", facts.owner), ("sponsor", facts.sponsor)) if not who]
    checks.append(_check("owner_sponsor", not missing, f"Owner {facts.owner}, sponsor {facts.sponsor}."
                         if not missing else f"No {' and no '.join(missing)} set."))
    return Scorecard(checks)
