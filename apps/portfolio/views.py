"""HTML pages of the portfolio: overview, initiative list and detail, and the forms that change them.

Thin adapters: read through selectors, write through services, render. Services raise ValidationError (shown on
the form) and PermissionDenied (a 403 page); anything outside the user's scope is a 404 from the selectors.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from apps.accounts.models import User
from apps.accounts.selectors import business_unit_list, user_access_scope, user_list_active
from apps.compliance.selectors import compliance_initiative_summary
from apps.core.access import can
from apps.costs.selectors import costs_initiative_summary
from apps.kpis.calculations import KPIStatus
from apps.kpis.models import KPI, Measurement
from apps.kpis.selectors import kpi_get, kpi_list, kpi_status_of, measurement_list
from apps.kpis.services import (
    KPI_FIELDS,
    BulkValidationError,
    kpi_create,
    kpi_update,
    measurement_record,
    measurements_parse_csv,
    measurements_record_bulk,
)
from apps.mlops.selectors import mlops_initiative_summary
from apps.portfolio import charts
from apps.portfolio.choices import LIFECYCLE, Stage
from apps.portfolio.filters import InitiativeFilterSet
from apps.portfolio.forms import (
    GrantForm,
    InitiativeForm,
    KPIForm,
    MeasurementCSVForm,
    MeasurementForm,
    TransitionForm,
    add_service_errors,
)
from apps.portfolio.models import Initiative, StageTransition
from apps.portfolio.selectors import (
    initiative_get,
    initiative_grant_list,
    initiative_list,
    objective_list,
    portfolio_overview,
    purgatory_cutoff,
    transition_list,
)
from apps.portfolio.services import (
    EDITABLE_FIELDS,
    can_manage_grants,
    can_move_stage,
    initiative_create,
    initiative_grant,
    initiative_revoke_grant,
    initiative_transition,
    initiative_update,
    paused_from,
)
from apps.portfolio.stages import allowed_targets, pilot_days

PAGE_SIZE = 25
RECENT_MEASUREMENTS = 12
FILTER_PARAMS = ("q", "business_unit", "stage", "ai_type", "priority", "risk_tier", "owner", "purgatory")


# --- Overview ----------------------------------------------------------------------------------------------------


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """The portfolio at a glance: funnel, conversion, pilot duration by unit and the purgatory list."""
    data = portfolio_overview(user=request.user)
    days = settings.PILOT_PURGATORY_DAYS
    pilot_rows = [(row.unit.name, row.median_days, row.initiatives) for row in data.pilot_days_by_unit]
    context = {
        "overview": data,
        "stage_counts": [(stage, label, data.stage_counts.get(stage, 0)) for stage, label in Stage.choices],
        "funnel_chart": charts.funnel_figure(data.funnel) if data.total else None,
        "pilot_chart": charts.pilot_days_figure(pilot_rows, purgatory_days=days) if pilot_rows else None,
        "early_count": data.stage_counts.get(Stage.IDEA, 0) + data.stage_counts.get(Stage.DISCOVERY, 0),
        "purgatory_days": days,
        "can_create": _can_create(request.user),
    }
    return render(request, "portfolio/overview.html", context)


# --- List ---------------------------------------------------------------------------------------------------------


@login_required
def initiative_list_view(request: HttpRequest) -> HttpResponse:
    """Initiatives filtered, sorted and paginated; the filters are the ones the API offers."""
    filterset = InitiativeFilterSet(request.GET, queryset=initiative_list(user=request.user), request=request)
    units = business_unit_list(user=request.user)
    filterset.filters["business_unit"].queryset = units
    queryset = filterset.qs
    # A unique tie-breaker keeps pages stable when sorting by a column with repeated values.
    queryset = queryset.order_by(*(queryset.query.order_by or ("key",)), "pk")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    form = filterset.form
    context = {
        "page": page,
        "initiatives": page.object_list,
        "filter_errors": form.errors if form.is_bound else {},
        "units": units,
        "owners": user_list_active(),
        "stages": Stage.choices,
        "ai_types": Initiative._meta.get_field("ai_type").choices,
        "selected": {
            "q": request.GET.get("q", ""),
            "business_unit": request.GET.get("business_unit", ""),
            "stage": request.GET.getlist("stage"),
            "ai_type": request.GET.get("ai_type", ""),
            "owner": request.GET.get("owner", ""),
            "purgatory": request.GET.get("purgatory", ""),
        },
        "has_filters": any(value for name in FILTER_PARAMS for value in request.GET.getlist(name)),
        "purgatory_cutoff": purgatory_cutoff(),
        "can_create": _can_create(request.user),
    }
    return render(request, "portfolio/initiative_list.html", context)


# --- Detail -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    transition: StageTransition
    days: int  # days spent in `to_stage` after this move (until the next move, or until now)
    current: bool


@dataclass(frozen=True)
class KPIRow:
    kpi: KPI
    status: KPIStatus
    chart: str
    measurement_count: int


def _timeline(transitions: list[StageTransition], now: datetime) -> list[TimelineEntry]:
    entries = []
    for index, transition in enumerate(transitions):
        following = transitions[index + 1].at if index + 1 < len(transitions) else now
        entries.append(TimelineEntry(transition, max(0, (following - transition.at).days),
                                     index == len(transitions) - 1))
    return entries


def _kpi_rows(kpis: list[KPI], measurements: list[Measurement]) -> list[KPIRow]:
    by_kpi: dict[int, list[tuple]] = defaultdict(list)
    for measurement in measurements:
        by_kpi[measurement.kpi_id].append((measurement.date, measurement.value))
    return [
        KPIRow(
            kpi=kpi,
            status=kpi_status_of(kpi),
            chart=charts.kpi_figure(measurements=by_kpi[kpi.pk], baseline=(kpi.baseline_date, kpi.baseline_value),
                                    target=(kpi.target_date, kpi.target_value), unit=kpi.unit),
            measurement_count=len(by_kpi[kpi.pk]),
        )
        for kpi in kpis
    ]


@login_required
def initiative_detail(request: HttpRequest, key: str) -> HttpResponse:
    """One initiative: header, owners, business case, stage timeline, KPIs with charts, recent measurements."""
    user = request.user
    initiative = initiative_get(user=user, key=key)
    now = timezone.now()
    transitions = list(transition_list(user=user, initiative=initiative))
    kpis = list(kpi_list(user=user, initiative_id=initiative.pk))
    measurements = list(measurement_list(user=user, kpi_ids=[kpi.pk for kpi in kpis])) if kpis else []
    kpi_by_id = {kpi.pk: kpi for kpi in kpis}
    recent = sorted(measurements, key=lambda m: (m.date, m.pk), reverse=True)[:RECENT_MEASUREMENTS]
    kpi_rows = _kpi_rows(kpis, measurements)
    realized = [row.status.realized_value for row in kpi_rows if row.status.realized_value is not None]
    in_purgatory = initiative.stage == Stage.PILOT and initiative.stage_entered_at < purgatory_cutoff(now)
    context = {
        "initiative": initiative,
        "days_in_stage": initiative.days_in_stage(now),
        "in_purgatory": in_purgatory,
        "purgatory_days": settings.PILOT_PURGATORY_DAYS,
        "pilot_days": pilot_days([(t.from_stage, t.to_stage, t.at) for t in transitions], now),
        "timeline": _timeline(transitions, now),
        "lifecycle": _lifecycle(initiative.stage, {t.to_stage for t in transitions}),
        "kpi_rows": kpi_rows,
        "recent": [(m, kpi_by_id[m.kpi_id]) for m in recent],
        "can_edit": can(user, initiative, "change"),
        "can_move": can_move_stage(user, initiative),
        "can_manage_access": can_manage_grants(user, initiative),
        "realized_total": sum(realized) if realized else None,
        # The MLOps, cost and compliance cards: each app's selector, read from our database only.
        "mlops_summary": mlops_initiative_summary(user=user, initiative=initiative),
        "costs_summary": costs_initiative_summary(user=user, initiative=initiative),
        "compliance_summary": compliance_initiative_summary(user=user, initiative=initiative),
    }
    return render(request, "portfolio/initiative_detail.html", context)


def _lifecycle(current: str, visited: set[str]) -> list[tuple[str, str, str]]:
    """The main path with each stage marked done, current or ahead, for the stepper in the header."""
    steps = []
    for stage in LIFECYCLE:
        state = "current" if stage == current else ("done" if stage in visited else "ahead")
        steps.append((stage.value, stage.label, state))
    return steps


# --- Create / edit ------------------------------------------------------------------------------------------------


def _can_create(user: User) -> bool:
    scope = user_access_scope(user=user)
    return scope.write_all or bool(scope.writable_units)


def _creatable_units(user: User) -> QuerySet:
    scope = user_access_scope(user=user)
    units = business_unit_list(user=user)
    return units if scope.write_all else units.filter(pk__in=scope.writable_units)


def _initiative_form(request: HttpRequest, *, units: QuerySet, initial: dict, unit_locked: bool = False,
                     with_key: bool = True) -> InitiativeForm:
    return InitiativeForm(
        request.POST if request.method == "POST" else None, initial=initial, units=units,
        users=user_list_active(), objectives=objective_list(user=request.user), unit_locked=unit_locked,
        with_key=with_key,
    )


@login_required
@require_http_methods(["GET", "POST"])
def initiative_create_view(request: HttpRequest) -> HttpResponse:
    """Register an initiative in the idea stage."""
    if not _can_create(request.user):
        raise PermissionDenied("You are not a lead or contributor of any business unit, so you cannot register "
                               "initiatives. Ask a BU lead or a portfolio admin.")
    units = _creatable_units(request.user)
    only_unit = units.first() if units.count() == 1 else None
    form = _initiative_form(request, units=units, initial={"owner": request.user, "business_unit": only_unit})
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            initiative = initiative_create(actor=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Registered {initiative.key} “{initiative.name}” in the idea stage.")
            return redirect("portfolio:initiative_detail", key=initiative.key)
    return render(request, "portfolio/initiative_form.html", {"form": form, "initiative": None})


@login_required
@require_http_methods(["GET", "POST"])
def initiative_edit(request: HttpRequest, key: str) -> HttpResponse:
    """Change an initiative's owners, business case, classification and dates."""
    initiative = initiative_get(user=request.user, key=key)
    if not can(request.user, initiative, "change"):
        raise PermissionDenied("You may view this initiative but not edit it.")
    write_all = user_access_scope(user=request.user).write_all
    units = business_unit_list(user=request.user)
    if not write_all:
        units = units.filter(pk=initiative.business_unit_id)
    initial = {name: getattr(initiative, name) for name in EDITABLE_FIELDS}
    initial["objectives"] = list(initiative.objectives.all())
    form = _initiative_form(request, units=units, initial=initial, unit_locked=not write_all, with_key=False)
    if request.method == "POST" and form.is_valid():
        try:
            initiative_update(actor=request.user, initiative=initiative, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved changes to {initiative.key}.")
            return redirect("portfolio:initiative_detail", key=initiative.key)
    return render(request, "portfolio/initiative_form.html", {"form": form, "initiative": initiative})


# --- Stage move ---------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def initiative_transition_view(request: HttpRequest, key: str) -> HttpResponse:
    """Record a stage move; only the stages the rules allow next are offered."""
    initiative = initiative_get(user=request.user, key=key)
    if not can_move_stage(request.user, initiative):
        raise PermissionDenied("Only the initiative's owner, a lead of its business unit or a portfolio admin can "
                               "move its stage.")
    targets = allowed_targets(initiative.stage, paused_from(initiative))
    form = TransitionForm(request.POST if request.method == "POST" else None, current=initiative.stage,
                          targets=targets)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            initiative_transition(actor=request.user, initiative=initiative, to_stage=data["to_stage"],
                                  rationale=data["rationale"], decision=data["decision"] or None)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Moved {initiative.key} to {Stage(data['to_stage']).label}.")
            return redirect("portfolio:initiative_detail", key=initiative.key)
    context = {"initiative": initiative, "form": form, "targets": targets,
               "days_in_stage": initiative.days_in_stage()}
    return render(request, "portfolio/initiative_transition.html", context)


# --- KPIs and measurements ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def kpi_create_view(request: HttpRequest, key: str) -> HttpResponse:
    """Define a new KPI for an initiative."""
    initiative = initiative_get(user=request.user, key=key)
    if not can(request.user, initiative, "change"):
        raise PermissionDenied("You may view this initiative but not change its KPIs.")
    form = KPIForm(request.POST if request.method == "POST" else None,
                   initial={"baseline_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            kpi = kpi_create(actor=request.user, initiative=initiative, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added the KPI “{kpi.name}”. Record its first measurement next.")
            return redirect(reverse("portfolio:initiative_detail", args=[initiative.key]) + f"#kpi-{kpi.pk}")
    return render(request, "portfolio/kpi_form.html", {"form": form, "initiative": initiative, "kpi": None})


@login_required
@require_http_methods(["GET", "POST"])
def kpi_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a KPI's definition."""
    kpi = kpi_get(user=request.user, pk=pk)
    initiative = kpi.initiative
    if not can(request.user, initiative, "change"):
        raise PermissionDenied("You may view this KPI but not change it.")
    form = KPIForm(request.POST if request.method == "POST" else None,
                   initial={name: getattr(kpi, name) for name in KPI_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            kpi_update(actor=request.user, kpi=kpi, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved the KPI “{kpi.name}”.")
            return redirect(reverse("portfolio:initiative_detail", args=[initiative.key]) + f"#kpi-{kpi.pk}")
    return render(request, "portfolio/kpi_form.html", {"form": form, "initiative": initiative, "kpi": kpi})


@login_required
@require_http_methods(["GET", "POST"])
def measurement_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record one measurement of a KPI, or paste many as CSV (all or nothing, with row errors)."""
    kpi = kpi_get(user=request.user, pk=pk)
    initiative = kpi.initiative
    if not can(request.user, initiative, "change"):
        raise PermissionDenied("You may view this KPI but not record its measurements.")
    mode = request.POST.get("mode", "single") if request.method == "POST" else "single"
    single = MeasurementForm(request.POST if mode == "single" and request.method == "POST" else None)
    bulk = MeasurementCSVForm(request.POST if mode == "csv" else None)
    row_errors: list = []
    detail_url = reverse("portfolio:initiative_detail", args=[initiative.key]) + f"#kpi-{kpi.pk}"
    if request.method == "POST" and mode == "single" and single.is_valid():
        data = single.cleaned_data
        try:
            measurement_record(actor=request.user, kpi=kpi, date=data["date"], value=data["value"],
                               note=data["note"])
        except BulkValidationError as exc:
            for error in exc.row_errors:
                single.add_error(error.field if error.field in single.fields else None, error.message)
        except ValidationError as exc:
            add_service_errors(single, exc)
        else:
            messages.success(request, f"Recorded {kpi.name} = {data['value']} {kpi.unit} on {data['date']:%d %b %Y}.")
            return redirect(detail_url)
    if request.method == "POST" and mode == "csv" and bulk.is_valid():
        rows = measurements_parse_csv(text=bulk.cleaned_data["csv"])
        try:
            count = measurements_record_bulk(actor=request.user, rows=rows, kpi=kpi)
        except BulkValidationError as exc:
            row_errors = [(error, rows[error.row - 1] if 0 < error.row <= len(rows) else None)
                          for error in exc.row_errors]
            bulk.add_error("csv", f"{len(exc.row_errors)} line(s) need fixing; nothing was saved.")
        except ValidationError as exc:
            bulk.add_error("csv", exc.messages)
        else:
            messages.success(request, f"Recorded {count} measurement{'s' if count != 1 else ''} of {kpi.name}.")
            return redirect(detail_url)
    latest = list(measurement_list(user=request.user, kpi_ids=[kpi.pk]).order_by("-date")[:RECENT_MEASUREMENTS])
    context = {"kpi": kpi, "initiative": initiative, "single": single, "bulk": bulk, "mode": mode,
               "row_errors": row_errors, "latest": latest}
    return render(request, "portfolio/measurement_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def initiative_access(request: HttpRequest, key: str) -> HttpResponse:
    """Per-initiative grants (e.g. one external reviewer); managed by admins and the unit's leads."""
    initiative = initiative_get(user=request.user, key=key)
    manager = can_manage_grants(request.user, initiative)
    form = GrantForm(request.POST if request.method == "POST" and "add" in request.POST else None,
                     users=user_list_active())
    if request.method == "POST":
        if not manager:
            raise PermissionDenied("Only portfolio admins and leads of the initiative's unit manage its access.")
        if "revoke" in request.POST:
            person = get_object_or_404(user_list_active(), pk=request.POST.get("revoke"))
            initiative_revoke_grant(actor=request.user, initiative=initiative, user=person)
            messages.success(request, f"{person} no longer has access to {initiative.key} through a grant.")
            return redirect("portfolio:initiative_access", key=initiative.key)
        if form.is_valid():
            try:
                initiative_grant(actor=request.user, initiative=initiative, user=form.cleaned_data["user"],
                                 access=form.cleaned_data["access"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"{form.cleaned_data['user']} now has access to {initiative.key}.")
                return redirect("portfolio:initiative_access", key=initiative.key)
    return render(request, "portfolio/initiative_access.html", {
        "initiative": initiative, "grants": initiative_grant_list(user=request.user, initiative=initiative),
        "form": form, "can_manage": manager,
    })
