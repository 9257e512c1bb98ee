"""HTML pages of MLOps: overview, an initiative's Models page, MLflow connections (admins), alerts, and the forms
that change links, rules and alerts. Pages read only the database (never MLflow) and show how old the data is.

Thin adapters: read through selectors, write through services, render. Services raise ValidationError (shown on
the form) and PermissionDenied (a 403 page); anything outside the user's scope is a 404 from the selectors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.selectors import user_access_scope
from apps.core.access import can
from apps.mlops import charts, selectors, services
from apps.mlops.choices import AlertStatus, RuleKind
from apps.mlops.filters import AlertFilterSet
from apps.mlops.forms import AlertFilterForm, ConnectionForm, ModelLinkForm, RuleForm
from apps.mlops.models import MonitoringRule
from apps.mlops.monitoring import Point
from apps.portfolio.forms import add_service_errors
from apps.portfolio.selectors import initiative_get

PAGE_SIZE = 25
VERSIONS_SHOWN = 8
RUNS_SHOWN = 15


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


# --- overview ---------------------------------------------------------------------------------------------------


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """MLOps across the portfolio: active alerts, production models nobody owns, production initiatives with no
    model, and how fresh the synced data is."""
    user = request.user
    context = {
        "alert_counts": selectors.alert_counts(user=user),
        "recent_alerts": list(selectors.alert_list(user=user).exclude(status=AlertStatus.RESOLVED)
                              .order_by("-opened_at")[:10]),
        "unlinked_models": list(selectors.unlinked_production_models(user=user)[:50]),
        "modelless": list(selectors.production_initiatives_without_model(user=user)[:50]),
        "data_ages": selectors.data_ages(),
        "is_admin": user_access_scope(user=user).write_all,
    }
    return render(request, "mlops/overview.html", context)


# --- the Models page of an initiative ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricChart:
    key: str
    chart: str
    latest: float | None
    rules: list[MonitoringRule]


def _metric_charts(initiative, rules: list[MonitoringRule]) -> list[MetricChart]:
    by_key: dict[str, list[MonitoringRule]] = defaultdict(list)
    for rule in rules:
        if rule.kind != RuleKind.STALENESS and rule.metric_key and rule.active:
            by_key[rule.metric_key].append(rule)
    series = selectors.initiative_metric_series(initiative=initiative, keys=sorted(by_key))
    result = []
    for key in sorted(by_key):
        points: list[Point] = series.get(key, [])
        limits: list[tuple[str, float, Callable[[float], bool]]] = []
        for rule in by_key[key]:
            if rule.kind == RuleKind.THRESHOLD and rule.min_value is not None:
                limits.append((f"min {rule.min_value:g}", rule.min_value, lambda x, v=rule.min_value: x < v))
            if rule.kind == RuleKind.THRESHOLD and rule.max_value is not None:
                limits.append((f"max {rule.max_value:g}", rule.max_value, lambda x, v=rule.max_value: x > v))
            if rule.kind == RuleKind.DRIFT and rule.drift_limit is not None:
                limits.append((f"limit {rule.drift_limit:g}", rule.drift_limit, lambda x, v=rule.drift_limit: x >= v))
        breaches = [(p.at, p.value) for p in points if any(test(p.value) for _, _, test in limits)]
        chart = charts.metric_figure(key=key, points=[(p.at, p.value) for p in points],
                                     limits=[(label, value) for label, value, _ in limits], breaches=breaches)
        result.append(MetricChart(key, chart, points[-1].value if points else None, by_key[key]))
    return result


@login_required
def initiative_models(request: HttpRequest, key: str) -> HttpResponse:
    """An initiative's models: versions with aliases, monitored metrics over time, open alerts, readiness, runs,
    links and rules; a fixed number of queries however much is synced."""
    user = request.user
    initiative = initiative_get(user=user, key=key.upper())
    can_edit = can(user, initiative, "change")
    models = list(selectors.registered_model_list(user=user, initiative=initiative, with_versions=True)
                  .order_by("name"))
    rules = list(selectors.rule_list(user=user, initiative=initiative).order_by("name"))
    alerts = list(selectors.alert_list(user=user, initiative=initiative).exclude(status=AlertStatus.RESOLVED)
                  .order_by("-opened_at"))
    runs = list(selectors.run_list(user=user, initiative=initiative)[:RUNS_SHOWN])
    experiments = list(selectors.experiment_list(user=user, initiative=initiative).order_by("name"))
    links = list(selectors.model_link_list(user=user, initiative=initiative))
    card = selectors.readiness_compute(initiative_ids=[initiative.pk])[initiative.pk]
    history = list(selectors.readiness_history(user=user, initiative=initiative))
    connection_ids = sorted({m.connection_id for m in models} | {e.connection_id for e in experiments}
                            | {link.connection_id for link in links})
    context = {
        "initiative": initiative,
        "can_edit": can_edit,
        "models": [(model, model.version_rows[:VERSIONS_SHOWN]) for model in models],
        "metric_charts": _metric_charts(initiative, rules),
        "rules": rules,
        "alerts": alerts,
        "runs": runs,
        "experiments": experiments,
        "links": links,
        "scorecard": card,
        "history_chart": charts.readiness_history_figure(
            [(s.computed_at, s.score) for s in reversed(history)]) if len(history) > 1 else None,
        "data_ages": selectors.data_ages(connection_ids=connection_ids) if connection_ids else [],
        "link_form": ModelLinkForm(connections=selectors.connection_choices()) if can_edit else None,
        "production_aliases": selectors.production_aliases(),
    }
    return render(request, "mlops/initiative_models.html", context)


@login_required
@require_POST
def link_create(request: HttpRequest, key: str) -> HttpResponse:
    """Link an experiment or a registered model to the initiative."""
    initiative = initiative_get(user=request.user, key=key.upper())
    form = ModelLinkForm(request.POST, connections=selectors.connection_choices())
    url = reverse("mlops:initiative_models", args=[initiative.key]) + "#links"
    if not form.is_valid():
        messages.error(request, "Choose a server, a kind and the experiment or model to link.")
        return redirect(url)
    try:
        services.model_link_create(actor=request.user, initiative=initiative, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Linked {form.cleaned_data['target']} to {initiative.key}.")
    return redirect(url)


@login_required
@require_POST
def link_delete(request: HttpRequest, pk: int) -> HttpResponse:
    link = selectors.model_link_get(user=request.user, pk=pk)
    services.model_link_delete(actor=request.user, link=link)
    messages.success(request, f"Removed the link to {link.target}.")
    return redirect(reverse("mlops:initiative_models", args=[link.initiative.key]) + "#links")


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest, key: str) -> HttpResponse:
    """Add a monitoring rule to an initiative."""
    initiative = initiative_get(user=request.user, key=key.upper())
    if not can(request.user, initiative, "change"):
        raise PermissionDenied("You may view this initiative but not add monitoring rules to it.")
    form = RuleForm(request.POST or None, initial={"kind": request.GET.get("kind", RuleKind.THRESHOLD)})
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.rule_create(actor=request.user, initiative=initiative, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added the rule “{rule.name}”; it is evaluated after every sync.")
            return redirect(reverse("mlops:initiative_models", args=[initiative.key]) + "#rules")
    return render(request, "mlops/rule_form.html", {"form": form, "initiative": initiative, "rule": None})


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = selectors.rule_get(user=request.user, pk=pk)
    initiative = rule.initiative
    if not can(request.user, initiative, "change"):
        raise PermissionDenied("You may view this rule but not change it.")
    form = RuleForm(request.POST or None, initial=RuleForm.initial_from(rule))
    if request.method == "POST" and form.is_valid():
        try:
            services.rule_update(actor=request.user, rule=rule, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved the rule “{rule.name}”.")
            return redirect(reverse("mlops:initiative_models", args=[initiative.key]) + "#rules")
    return render(request, "mlops/rule_form.html", {"form": form, "initiative": initiative, "rule": rule})


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = selectors.rule_get(user=request.user, pk=pk)
    services.rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Deleted the rule “{rule.name}”.")
    return redirect(reverse("mlops:initiative_models", args=[rule.initiative.key]) + "#rules")


# --- alerts -----------------------------------------------------------------------------------------------------


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    """Alerts the user may see, open and acknowledged first by default, filtered and paginated."""
    form = AlertFilterForm(request.GET or None)
    status = request.GET.get("status", "active")
    params = request.GET.copy()
    params.pop("status", None)
    if status == "active":
        params["active"] = "true"
    elif status and status != "all":
        params["status"] = status
    filterset = AlertFilterSet(params, queryset=selectors.alert_list(user=request.user))
    queryset = filterset.qs.order_by("-opened_at", "-id")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    actionable = selectors.changeable_initiative_ids(user=request.user, ids={a.initiative_id for a in rows})
    context = {
        "page": page, "alerts": [(alert, alert.initiative_id in actionable) for alert in rows], "form": form,
        "status": status, "severity": request.GET.get("severity", ""),
        "initiative_key": request.GET.get("initiative", ""), "counts": selectors.alert_counts(user=request.user),
        "statuses": [("active", "Open and acknowledged"), *AlertStatus.choices, ("all", "All")],
    }
    return render(request, "mlops/alert_list.html", context)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get(user=request.user, pk=pk)
    try:
        services.alert_acknowledge(actor=request.user, alert=alert)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Acknowledged “{alert.title}”.")
    return redirect(request.POST.get("next") or reverse("mlops:alert_list"))


@login_required
@require_POST
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    alert = selectors.alert_get(user=request.user, pk=pk)
    try:
        services.alert_resolve(actor=request.user, alert=alert, note=request.POST.get("note", "")[:2000])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Resolved “{alert.title}”.")
    return redirect(request.POST.get("next") or reverse("mlops:alert_list"))


# --- connections (portfolio admins) -----------------------------------------------------------------------------


@login_required
def connection_list(request: HttpRequest) -> HttpResponse:
    """MLflow servers with their health, "Sync now" and "Test" (queued jobs with a live progress bar)."""
    connections = list(selectors.connection_list(user=request.user).order_by("name"))
    return render(request, "mlops/connection_list.html", {"connections": connections})


@login_required
@require_http_methods(["GET", "POST"])
def connection_create(request: HttpRequest) -> HttpResponse:
    if not user_access_scope(user=request.user).write_all:
        raise PermissionDenied("Only portfolio admins manage MLflow connections.")
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            conn = services.connection_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            services.connection_sync_request(actor=request.user, connection=conn)
            messages.success(request, f"Added “{conn.name}”; its first sync is queued.")
            return redirect("mlops:connection_list")
    return render(request, "mlops/connection_form.html", {"form": form, "connection": None})


@login_required
@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    conn = selectors.connection_get(user=request.user, pk=pk)
    initial = {name: getattr(conn, name) for name in ConnectionForm.base_fields if name != "secret"}
    form = ConnectionForm(request.POST or None, initial=initial, has_secret=conn.has_secret)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            services.connection_update(actor=request.user, connection=conn, secret=data.pop("secret") or None,
                                       **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved “{conn.name}”.")
            return redirect("mlops:connection_list")
    return render(request, "mlops/connection_form.html", {"form": form, "connection": conn})


@login_required
@require_POST
def connection_delete(request: HttpRequest, pk: int) -> HttpResponse:
    conn = selectors.connection_get(user=request.user, pk=pk)
    services.connection_delete(actor=request.user, connection=conn)
    messages.success(request, f"Deleted “{conn.name}” and everything synced from it.")
    return redirect("mlops:connection_list")


def _job_answer(request: HttpRequest, job, text: str) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"job": job.pk, "url": f"/api/v1/jobs/{job.pk}/"}, status=202)
    messages.info(request, f"{text} (job #{job.pk}).")
    return redirect(reverse("mlops:connection_list") + f"?job={job.pk}")


@login_required
@require_POST
def connection_sync(request: HttpRequest, pk: int) -> HttpResponse:
    conn = selectors.connection_get(user=request.user, pk=pk)
    job = services.connection_sync_request(actor=request.user, connection=conn, full=request.POST.get("full") == "1")
    return _job_answer(request, job, f"Sync of “{conn.name}” queued")


@login_required
@require_POST
def connection_test(request: HttpRequest, pk: int) -> HttpResponse:
    conn = selectors.connection_get(user=request.user, pk=pk)
    job = services.connection_test_request(actor=request.user, connection=conn)
    return _job_answer(request, job, f"Test of “{conn.name}” queued")
