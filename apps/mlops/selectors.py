"""Reads for MLOps, scoped by restrict(): synced MLflow objects, links, rules, alerts, readiness and data age.

Pages and the API read only the database here; nothing in this module talks to MLflow.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.http import Http404
from django.utils import timezone

from apps.accounts.selectors import user_access_scope
from apps.core.access import get_restricted_or_404, restrict
from apps.mlops import readiness as rules_of_readiness
from apps.mlops.choices import AlertStatus, RuleKind, RunStatus
from apps.mlops.models import (
    Alert,
    Experiment,
    LoggedModel,
    MetricPoint,
    MLflowConnection,
    ModelLink,
    ModelVersion,
    MonitoringRule,
    ReadinessSnapshot,
    RegisteredModel,
    Run,
)
from apps.mlops.monitoring import Point
from apps.portfolio.choices import Stage
from apps.portfolio.models import Initiative

PRODUCTION_STAGES = (Stage.PRODUCTION, Stage.SCALED)


def production_aliases() -> tuple[str, ...]:
    """Aliases that mark the serving version (MLOPS_PRODUCTION_ALIASES, default production, champion)."""
    return tuple(getattr(settings, "MLOPS_PRODUCTION_ALIASES", ("production", "champion")))


# --- connections (portfolio admins) -----------------------------------------------------------------------------


def connection_list(*, user) -> QuerySet[MLflowConnection]:
    """Every connection with its sync state, for portfolio admins only (PermissionDenied otherwise)."""
    if not user_access_scope(user=user).write_all:
        raise PermissionDenied("Only portfolio admins manage MLflow connections.")
    return MLflowConnection.objects.select_related("state", "state__last_job", "created_by").annotate(
        link_count=Count("links", distinct=True)
    ).order_by("name", "id")


def connection_get(*, user, pk: int) -> MLflowConnection:
    """One connection (admins only), or 404."""
    try:
        return connection_list(user=user).get(pk=pk)
    except MLflowConnection.DoesNotExist as exc:
        raise Http404("No MLflow connection matches the given query.") from exc


def connection_choices() -> QuerySet[MLflowConnection]:
    """Connections to pick from when linking (names only; anyone who may link sees them)."""
    return MLflowConnection.objects.only("id", "name").order_by("name")


@dataclass(frozen=True)
class DataAge:
    """How fresh the synced data of one connection is, for "last synced 3 h ago, MLflow unreachable"."""

    connection_id: int
    name: str
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error_kind: str
    last_error: str
    enabled: bool

    @property
    def failing(self) -> bool:
        return self.last_error_at is not None and (
            self.last_success_at is None or self.last_error_at > self.last_success_at
        )

    @property
    def problem(self) -> str:
        """A short label for the current problem, or '' when the last attempt succeeded."""
        if not self.failing:
            return ""
        return {
            "unreachable": "MLflow unreachable", "timeout": "MLflow timed out", "server_error": "MLflow server error",
            "auth": "credentials refused", "tls": "TLS certificate not verified",
        }.get(self.last_error_kind, "sync failing")

    def lag(self, now: datetime | None = None) -> timedelta | None:
        return None if self.last_success_at is None else (now or timezone.now()) - self.last_success_at


def data_ages(*, connection_ids: list[int] | None = None) -> list[DataAge]:
    """Freshness of every connection (or the given ones), one query; shown on every MLOps page."""
    queryset = MLflowConnection.objects.select_related("state").order_by("name")
    if connection_ids is not None:
        queryset = queryset.filter(pk__in=connection_ids)
    ages = []
    for conn in queryset:
        state = getattr(conn, "state", None)
        ages.append(DataAge(conn.pk, conn.name, getattr(state, "last_success_at", None),
                            getattr(state, "last_error_at", None), getattr(state, "last_error_kind", ""),
                            getattr(state, "last_error", ""), conn.enabled))
    return ages


# --- synced objects ---------------------------------------------------------------------------------------------


def experiment_list(*, user, initiative: Initiative | None = None) -> QuerySet[Experiment]:
    """Experiments the user may see (linked to an initiative they see; unlinked ones for portfolio-wide readers)."""
    queryset = Experiment.objects.select_related("initiative", "connection").annotate(
        run_count=Count("runs")).order_by("name", "id")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view")


def run_list(*, user, initiative: Initiative | None = None) -> QuerySet[Run]:
    """Runs the user may see, newest first, with their experiment and initiative."""
    queryset = Run.objects.select_related("experiment", "initiative", "connection")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view").order_by("-start_time", "-id")


def run_get(*, user, pk: int) -> Run:
    return get_restricted_or_404(Run.objects.select_related("experiment", "initiative", "connection"), user,
                                 "view", pk=pk)


def registered_model_list(*, user, initiative: Initiative | None = None, with_versions: bool = False
                          ) -> QuerySet[RegisteredModel]:
    """Registered models the user may see, with their version count (and versions, newest first, if asked)."""
    queryset = RegisteredModel.objects.select_related("initiative", "connection").annotate(
        version_count=Count("versions"), latest_version=Max("versions__version")).order_by("name", "id")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    if with_versions:
        queryset = queryset.prefetch_related(
            Prefetch("versions", queryset=ModelVersion.objects.order_by("-version"), to_attr="version_rows"))
    return restrict(queryset, user, "view")


def registered_model_get(*, user, pk: int) -> RegisteredModel:
    return get_restricted_or_404(registered_model_list(user=user, with_versions=True), user, "view", pk=pk)


def model_version_list(*, user, initiative: Initiative | None = None) -> QuerySet[ModelVersion]:
    """Model versions the user may see, with their registered model."""
    queryset = ModelVersion.objects.select_related("registered_model", "registered_model__initiative",
                                                   "registered_model__connection")
    if initiative is not None:
        queryset = queryset.filter(registered_model__initiative=initiative)
    return restrict(queryset, user, "view").order_by("registered_model__name", "-version")


def logged_model_list(*, user, initiative: Initiative | None = None) -> QuerySet[LoggedModel]:
    queryset = LoggedModel.objects.select_related("initiative", "connection")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view")


def model_link_list(*, user, initiative: Initiative | None = None) -> QuerySet[ModelLink]:
    """Explicit links the user may see, with their connection, initiative and author."""
    queryset = ModelLink.objects.select_related("connection", "initiative", "created_by")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view")


def model_link_get(*, user, pk: int) -> ModelLink:
    return get_restricted_or_404(model_link_list(user=user), user, "view", pk=pk)


def unlinked_production_models(*, user) -> QuerySet[RegisteredModel]:
    """Registered models holding a production/champion alias that belong to no initiative (shadow AI)."""
    condition = Q()
    for alias in production_aliases():
        condition |= Q(aliases__has_key=alias)
    return registered_model_list(user=user).filter(condition, initiative__isnull=True).order_by("name")


def production_initiatives_without_model(*, user) -> QuerySet[Initiative]:
    """Initiatives in production (or scaled) with no registered model linked."""
    from apps.portfolio.selectors import initiative_list

    has_model = RegisteredModel.objects.filter(initiative=OuterRef("pk"))
    return initiative_list(user=user).filter(stage__in=PRODUCTION_STAGES).filter(~Exists(has_model)).order_by("key")


# --- rules and alerts -------------------------------------------------------------------------------------------


def rule_list(*, user, initiative: Initiative | None = None) -> QuerySet[MonitoringRule]:
    """Monitoring rules the user may see, with the number of active alerts."""
    queryset = MonitoringRule.objects.select_related("initiative", "created_by").annotate(
        active_alerts=Count("alerts", filter=~Q(alerts__status=AlertStatus.RESOLVED))).order_by(
        "initiative_id", "name", "id")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view")


def rule_get(*, user, pk: int, action: str = "view") -> MonitoringRule:
    return get_restricted_or_404(rule_list(user=user), user, action, pk=pk)


def alert_list(*, user, initiative: Initiative | None = None) -> QuerySet[Alert]:
    """Alerts the user may see, newest first, with their rule, initiative and people."""
    queryset = Alert.objects.select_related("rule", "initiative", "initiative__owner", "acknowledged_by",
                                            "resolved_by")
    if initiative is not None:
        queryset = queryset.filter(initiative=initiative)
    return restrict(queryset, user, "view")


def alert_get(*, user, pk: int, action: str = "view") -> Alert:
    return get_restricted_or_404(alert_list(user=user), user, action, pk=pk)


def changeable_initiative_ids(*, user, ids: set[int]) -> set[int]:
    """Which of these initiatives the user may change (one query; none when `ids` is empty)."""
    if not ids:
        return set()
    return set(restrict(Initiative.objects.filter(pk__in=ids), user, "change").values_list("pk", flat=True))


def alert_counts(*, user) -> dict[str, int]:
    """Active alerts the user may see, by status (one query)."""
    rows = restrict(Alert.objects.exclude(status=AlertStatus.RESOLVED), user, "view").order_by().values(
        "status").annotate(n=Count("id"))
    counts = {AlertStatus.OPEN.value: 0, AlertStatus.ACKNOWLEDGED.value: 0}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


# --- series for rules and charts (system reads: the callers have checked access) -------------------------------


def _scope_runs(initiative_id: int, model_name: str = "") -> QuerySet[Run]:
    runs = Run.objects.filter(initiative_id=initiative_id)
    if model_name:
        source_runs = ModelVersion.objects.filter(registered_model__name=model_name,
                                                  registered_model__initiative_id=initiative_id).values("run_id")
        runs = runs.filter(Q(tags__contains={"pilotlight.model": model_name}) | Q(run_id__in=source_runs))
    return runs


def metric_series(*, initiative_id: int, key: str, model_name: str = "", days: int = 400,
                  limit: int = 5_000) -> list[Point]:
    """A metric over time for an initiative's runs: the synced history points plus each run's latest value."""
    runs = _scope_runs(initiative_id, model_name)
    since = timezone.now() - timedelta(days=days)
    rows = (MetricPoint.objects.filter(run__in=runs, key=key, logged_at__gte=since)
            .order_by("-logged_at").values_list("run_id", "logged_at", "step", "value")[:limit])
    seen = {(run_id, at, step) for run_id, at, step, _ in rows}
    points = [Point(at, value) for _, at, _, value in rows]
    from apps.mlops.services.sync import ms_to_datetime

    latest = runs.filter(metrics__has_key=key).annotate(entry=KeyTransform(key, "metrics"))
    for run_pk, entry in latest.values_list("pk", "entry")[:limit]:
        if not isinstance(entry, list) or len(entry) != 3 or isinstance(entry[0], str):
            continue
        at = ms_to_datetime(entry[1])
        if at >= since and (run_pk, at, int(entry[2])) not in seen:
            points.append(Point(at, float(entry[0])))
    return sorted(points, key=lambda p: p.at)


def last_activity(*, initiative_id: int, model_name: str = "") -> datetime | None:
    """The newest run start or model version registration of an initiative (or of one of its models)."""
    runs = _scope_runs(initiative_id, model_name)
    versions = ModelVersion.objects.filter(registered_model__initiative_id=initiative_id)
    if model_name:
        versions = versions.filter(registered_model__name=model_name)
    candidates = [runs.aggregate(at=Max("start_time"))["at"], versions.aggregate(at=Max("mlflow_created_at"))["at"]]
    candidates = [value for value in candidates if value is not None]
    return max(candidates) if candidates else None


def initiative_metric_series(*, initiative: Initiative, keys: list[str]) -> dict[str, list[Point]]:
    """Series of several keys of one initiative in one query, for the charts of the Models page."""
    if not keys:
        return {}
    since = timezone.now() - timedelta(days=400)
    rows = (MetricPoint.objects.filter(run__initiative=initiative, key__in=keys, logged_at__gte=since)
            .order_by("key", "logged_at").values_list("key", "logged_at", "value"))
    series: dict[str, list[Point]] = defaultdict(list)
    for key, at, value in rows:
        series[key].append(Point(at, value))
    return dict(series)


# --- readiness --------------------------------------------------------------------------------------------------


def _costs_mapped(initiative_ids: list[int]) -> set[int] | None:
    """Initiatives with cost records, when a cost app offers `initiative_ids_with_costs`; None when it does not."""
    from django.apps import apps

    if not apps.is_installed("apps.costs"):
        return None
    try:
        from apps.costs.selectors import initiative_ids_with_costs  # type: ignore[import-not-found]
    except ImportError:
        return None
    return set(initiative_ids_with_costs(initiative_ids=initiative_ids))


def _tag_hit(tags: dict, keys: tuple[str, ...]) -> str:
    return next((key for key in keys if str(tags.get(key, "")).strip()), "")


def readiness_facts(*, initiative_ids: list[int]) -> dict[int, rules_of_readiness.ReadinessFacts]:
    """Everything the readiness checks need for many initiatives, in a fixed number of queries (system read)."""
    from apps.kpis.models import KPI

    if not initiative_ids:
        return {}
    initiatives = {
        row["id"]: row for row in Initiative.objects.filter(pk__in=initiative_ids).values(
            "id", "owner__username", "owner__first_name", "owner__last_name", "sponsor__username",
            "sponsor__first_name", "sponsor__last_name")
    }
    aliases = production_aliases()
    versions = defaultdict(list)
    for row in ModelVersion.objects.filter(registered_model__initiative_id__in=initiative_ids).values(
        "registered_model__initiative_id", "registered_model__connection_id", "registered_model__name",
        "registered_model__description", "registered_model__tags", "version", "aliases", "tags", "description",
        "run_id", "mlflow_created_at", "model_card",
    ):
        versions[row["registered_model__initiative_id"]].append(row)
    serving_rows = {}
    for initiative_id, rows in versions.items():
        aliased = [r for r in rows if any(alias in aliases for alias in r["aliases"])]
        pool = aliased or rows
        serving_rows[initiative_id] = max(pool, key=lambda r: (r["mlflow_created_at"] or timezone.now(), r["version"]))
    source_keys = {(r["registered_model__connection_id"], r["run_id"]) for r in serving_rows.values() if r["run_id"]}
    source_runs = {}
    if source_keys:
        condition = Q()
        for connection_id, run_id in source_keys:
            condition |= Q(connection_id=connection_id, run_id=run_id)
        source_runs = {(row["connection_id"], row["run_id"]): row
                       for row in Run.objects.filter(condition).values("connection_id", "run_id", "tags", "datasets")}
    rules = dict(MonitoringRule.objects.filter(initiative_id__in=initiative_ids, active=True).order_by()
                 .values_list("initiative_id").annotate(n=Count("id")).values_list("initiative_id", "n"))
    trained = dict(Run.objects.filter(initiative_id__in=initiative_ids, status=RunStatus.FINISHED).order_by()
                   .values_list("initiative_id").annotate(at=Max("end_time")).values_list("initiative_id", "at"))
    kpis = dict(KPI.objects.filter(initiative_id__in=initiative_ids, baseline_value__isnull=False,
                                   target_value__isnull=False).order_by().values_list("initiative_id")
                .annotate(n=Count("id")).values_list("initiative_id", "n"))
    costs = _costs_mapped(initiative_ids)

    facts = {}
    for initiative_id, person in initiatives.items():
        rows = versions.get(initiative_id, [])
        serving = None
        alias_found = ""
        row = serving_rows.get(initiative_id)
        if row is not None:
            run = source_runs.get((row["registered_model__connection_id"], row["run_id"]))
            run_tags = run["tags"] if run else {}
            ci_tag = _tag_hit(row["tags"], rules_of_readiness.CI_TAGS) or _tag_hit(run_tags,
                                                                                    rules_of_readiness.CI_TAGS)
            card = ""
            if row["registered_model__description"].strip():
                card = "registered model description"
            elif row["description"].strip():
                card = "version description"
            elif row["model_card"]:
                card = f"{row['model_card']} among the source run's artifacts"
            else:
                for where, tags in (("model", row["registered_model__tags"]), ("version", row["tags"]),
                                    ("run", run_tags)):
                    hit = _tag_hit(tags, rules_of_readiness.MODEL_CARD_TAGS)
                    if hit:
                        card = f"{hit} tag on the {where}"
                        break
            alias_found = next((alias for alias in aliases if alias in row["aliases"]), "")
            serving = rules_of_readiness.ServingVersion(
                model_name=row["registered_model__name"], version=row["version"], aliases=tuple(row["aliases"]),
                created_at=row["mlflow_created_at"], ci_tag=ci_tag, card_source=card,
                datasets=len(run["datasets"]) if run else 0, has_source_run=run is not None,
            )
        newest_version = max((r["mlflow_created_at"] for r in rows if r["mlflow_created_at"]), default=None)
        candidates = [at for at in (newest_version, trained.get(initiative_id)) if at is not None]
        facts[initiative_id] = rules_of_readiness.ReadinessFacts(
            versions=len(rows), models=tuple(sorted({r["registered_model__name"] for r in rows})), serving=serving,
            production_alias=alias_found, active_rules=rules.get(initiative_id, 0),
            last_trained_at=max(candidates) if candidates else None, kpis_complete=kpis.get(initiative_id, 0),
            costs_mapped=None if costs is None else initiative_id in costs,
            owner=_name(person, "owner"), sponsor=_name(person, "sponsor"),
        )
    return facts


def _name(row: dict, role: str) -> str:
    full = f"{row[f'{role}__first_name'] or ''} {row[f'{role}__last_name'] or ''}".strip()
    return full or (row[f"{role}__username"] or "")


def readiness_compute(*, initiative_ids: list[int], now: datetime | None = None
                      ) -> dict[int, rules_of_readiness.Scorecard]:
    """The current scorecard of each initiative (system read; callers check access)."""
    now = now or timezone.now()
    days = int(getattr(settings, "MLOPS_RETRAIN_WINDOW_DAYS", 90))
    return {
        initiative_id: rules_of_readiness.scorecard(facts, now=now, retrain_days=days,
                                                    production_aliases=production_aliases())
        for initiative_id, facts in readiness_facts(initiative_ids=initiative_ids).items()
    }


def readiness_history(*, user, initiative: Initiative, limit: int = 50) -> QuerySet[ReadinessSnapshot]:
    """Recorded scorecards of an initiative, newest first."""
    return restrict(ReadinessSnapshot.objects.filter(initiative=initiative), user, "view").order_by(
        "-computed_at", "-id")[:limit]


def readiness_candidates() -> QuerySet[Initiative]:
    """Initiatives whose readiness is recorded after a sync: anything with MLOps data, or in production."""
    return Initiative.objects.filter(
        Q(stage__in=PRODUCTION_STAGES) | Exists(RegisteredModel.objects.filter(initiative=OuterRef("pk")))
        | Exists(Run.objects.filter(initiative=OuterRef("pk")))
        | Exists(MonitoringRule.objects.filter(initiative=OuterRef("pk")))
        | Exists(ReadinessSnapshot.objects.filter(initiative=OuterRef("pk")))
    )


# --- the initiative summary the initiative page embeds ----------------------------------------------------------


@dataclass
class InitiativeSummary:
    """MLOps at a glance for one initiative: models, alerts, readiness and data age."""

    initiative: Initiative
    models: list[RegisteredModel] = field(default_factory=list)
    open_alerts: list[Alert] = field(default_factory=list)
    scorecard: rules_of_readiness.Scorecard | None = None
    data_ages: list[DataAge] = field(default_factory=list)
    run_count: int = 0
    rule_count: int = 0

    @property
    def serving(self) -> list[tuple[RegisteredModel, str, int]]:
        """(model, alias, version) for every production alias of the linked models."""
        aliases = production_aliases()
        return [(model, alias, version) for model in self.models for alias, version in sorted(model.aliases.items())
                if alias in aliases]

    @property
    def has_data(self) -> bool:
        return bool(self.models or self.run_count or self.rule_count)


def mlops_initiative_summary(*, user, initiative: Initiative) -> InitiativeSummary:
    """The MLOps card of an initiative (templates/mlops/_initiative_summary.html): a fixed number of queries."""
    models = list(registered_model_list(user=user, initiative=initiative).order_by("name")[:10])
    alerts = list(alert_list(user=user, initiative=initiative).exclude(status=AlertStatus.RESOLVED)
                  .order_by("-opened_at")[:5])
    run_count = run_list(user=user, initiative=initiative).count()
    rule_count = rule_list(user=user, initiative=initiative).filter(active=True).count()
    scorecard = readiness_compute(initiative_ids=[initiative.pk]).get(initiative.pk)
    connection_ids = sorted({m.connection_id for m in models} | set(
        Run.objects.filter(initiative=initiative).order_by().values_list("connection_id", flat=True).distinct()))
    return InitiativeSummary(initiative=initiative, models=models, open_alerts=alerts, scorecard=scorecard,
                             data_ages=data_ages(connection_ids=connection_ids) if connection_ids else [],
                             run_count=run_count, rule_count=rule_count)


def monitored_keys(*, initiative: Initiative) -> list[str]:
    """Metric keys of the initiative's active rules (what the charts show)."""
    return sorted(set(MonitoringRule.objects.filter(initiative=initiative, active=True)
                      .exclude(kind=RuleKind.STALENESS).exclude(metric_key="").values_list("metric_key", flat=True)))
