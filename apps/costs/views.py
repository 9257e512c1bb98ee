"""HTML pages for cloud costs: portfolio value vs cost, an initiative's costs, the cost explorer (with CSV export),
sources and imports (upload, pull, progress, error report), allocation rules and FX rates.

Thin adapters: read through selectors, write through services, render.
"""

from __future__ import annotations

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.selectors import business_unit_list
from apps.costs import charts, selectors, services
from apps.costs.api.views import csv_safe, error_report_response
from apps.costs.filters import CostDailyFilterSet
from apps.costs.forms import (
    SOURCE_FORM_FIELDS,
    AllocationRuleForm,
    CostSourceForm,
    CostUploadForm,
    ExplorerGroupForm,
    FxCSVForm,
    FxRateForm,
    PullForm,
)
from apps.portfolio.forms import add_service_errors
from apps.portfolio.selectors import initiative_get, initiative_list

EXPLORER_PAGE_SIZE = 50
RECENT_IMPORTS = 25


def _require_reader(request: HttpRequest) -> None:
    if not services.can_see_unallocated(request.user):
        raise Http404  # cost configuration is outside this user's scope


# --- portfolio and initiative -------------------------------------------------------------------------------------


@login_required
def portfolio_costs(request: HttpRequest) -> HttpResponse:
    """Value against cost per initiative, rolled up per business unit and for the portfolio."""
    data = selectors.portfolio_financials(user=request.user)
    bubbles = [(row.initiative.key, row.initiative.name, row.initiative.stage, row.cost, row.value, row.run_rate)
               for row in data.initiatives]
    with_cost = [row for row in data.initiatives if row.cost or row.value]
    context = {
        "data": data,
        "rows": sorted(with_cost, key=lambda row: -row.cost),
        "chart": charts.value_cost_figure(rows=bubbles, currency=data.currency) if with_cost else None,
        "can_manage": services.can_manage_costs(request.user),
        "can_see_sources": services.can_see_unallocated(request.user),
        "last_day": selectors.last_cost_day(user=request.user),
    }
    return render(request, "costs/portfolio.html", context)


@login_required
def initiative_costs(request: HttpRequest, key: str) -> HttpResponse:
    """An initiative's cost: monthly cost by service against its budget, run rate, burn, value and ROI."""
    initiative = initiative_get(user=request.user, key=key.upper())
    financials = selectors.initiative_financials(user=request.user, initiative=initiative)
    chart = charts.monthly_cost_figure(
        months=[(item.month, item.by_service, item.cumulative) for item in financials.months],
        budget=financials.budget, currency=financials.currency,
    ) if financials.months else None
    context = {"initiative": initiative, "financials": financials, "summary": financials, "chart": chart}
    return render(request, "costs/initiative.html", context)


# --- explorer ------------------------------------------------------------------------------------------------------


def _explorer_queryset(request: HttpRequest):
    filterset = CostDailyFilterSet(request.GET, queryset=selectors.cost_daily_list(user=request.user),
                                   request=request)
    filterset.filters["business_unit"].queryset = business_unit_list(user=request.user)
    filterset.filters["source"].queryset = selectors.cost_source_list(user=request.user)
    groups = ExplorerGroupForm(request.GET)
    group_by = groups.cleaned_data["group_by"] if groups.is_valid() else []
    group_by = group_by or ["month", "initiative"]
    return filterset, group_by


@login_required
def explorer(request: HttpRequest) -> HttpResponse:
    """Cost grouped by any dimension, filtered; `?export=csv` downloads the grouped rows."""
    filterset, group_by = _explorer_queryset(request)
    queryset = filterset.qs
    rows = selectors.cost_explorer_rows(queryset=queryset, group_by=group_by)
    columns = [(name, selectors.GROUPINGS[name]) for name in group_by if name in selectors.GROUPINGS]
    if request.GET.get("export") == "csv":
        return _export_csv(request, rows, columns)
    page = Paginator(rows, EXPLORER_PAGE_SIZE).get_page(request.GET.get("page"))
    form = filterset.form
    context = {
        "filterset": filterset,
        "form": form,
        "filter_errors": form.errors if form.is_bound else {},
        "page": page,
        "columns": columns,
        "lines": [{"cells": [_cell(name, row.get(field_name)) for name, (_, field_name) in columns],
                   "cost": row["amount"], "records": row["line_items"]} for row in page.object_list],
        "total": selectors.cost_explorer_total(queryset=queryset),
        "group_by": group_by,
        "groupings": [(name, label) for name, (label, _) in selectors.GROUPINGS.items()],
        "can_see_unallocated": services.can_see_unallocated(request.user),
        "sources": selectors.cost_source_list(user=request.user),
        "units": business_unit_list(user=request.user),
        "currency": selectors.settings.REPORTING_CURRENCY,
    }
    return render(request, "costs/explorer.html", context)


def _cell(name: str, value) -> str:
    """How the explorer shows one grouping value."""
    if value is None or value == "":
        return "unallocated" if name in ("initiative", "business_unit") else "—"
    if name == "month":
        return value.strftime("%b %Y")
    if name == "day":
        return value.strftime("%-d %b %Y")
    return str(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _export_csv(request: HttpRequest, rows, columns) -> StreamingHttpResponse:
    filters = {key: value for key, value in request.GET.items() if key not in ("export", "page")}
    total = rows.count()
    services.cost_export_record(actor=request.user, request=request, what="cost explorer", filters=filters,
                                rows=total)
    writer = csv.writer(_Echo())
    currency = selectors.settings.REPORTING_CURRENCY

    def lines():
        yield writer.writerow([label for _, (label, _) in columns] + [f"cost ({currency})", "line items"])
        for row in rows.iterator(chunk_size=2000):
            values = []
            for _, (_, field_name) in columns:
                value = row.get(field_name)
                values.append(value.isoformat()[:7] if field_name == "month" and value else value)
            yield writer.writerow([*(csv_safe(value) for value in values),
                                   "" if row["amount"] is None else f"{row['amount']:f}", row["line_items"]])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="costs-{date.today().isoformat()}.csv"'
    return response


# --- sources and imports -------------------------------------------------------------------------------------------


@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    """Cost sources and the latest imports."""
    _require_reader(request)
    context = {
        "sources": selectors.cost_source_list(user=request.user),
        "imports": selectors.cost_import_list(user=request.user)[:RECENT_IMPORTS],
        "can_manage": services.can_manage_costs(request.user),
    }
    return render(request, "costs/source_list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def source_create(request: HttpRequest) -> HttpResponse:
    """Register a cost source."""
    _require_reader(request)
    if not services.can_manage_costs(request.user):
        raise PermissionDenied("Only portfolio admins manage cost sources.")
    form = CostSourceForm(request.POST or None, initial={"enabled": True})
    if request.method == "POST" and form.is_valid():
        try:
            source = services.cost_source_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Registered the cost source “{source.name}”.")
            return redirect("costs:source_detail", pk=source.pk)
    return render(request, "costs/source_form.html", {"form": form, "source": None})


@login_required
@require_http_methods(["GET", "POST"])
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a cost source's settings."""
    source = selectors.cost_source_get(user=request.user, pk=pk)
    if not services.can_manage_costs(request.user):
        raise PermissionDenied("Only portfolio admins manage cost sources.")
    form = CostSourceForm(request.POST or None, initial={name: getattr(source, name) for name in SOURCE_FORM_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            services.cost_source_update(actor=request.user, source=source, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved the cost source “{source.name}”.")
            return redirect("costs:source_detail", pk=source.pk)
    return render(request, "costs/source_form.html", {"form": form, "source": source})


@login_required
@require_http_methods(["GET", "POST"])
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A source, its imports, and (for admins) the upload form and the pull button."""
    source = selectors.cost_source_get(user=request.user, pk=pk)
    can_manage = services.can_manage_costs(request.user)
    upload = CostUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only portfolio admins import cost files.")
        if upload.is_valid():
            try:
                cost_import = services.cost_import_create(actor=request.user, source=source,
                                                          uploads=upload.cleaned_data["files"])
            except ValidationError as exc:
                add_service_errors(upload, exc if "file" not in getattr(exc, "message_dict", {}) else
                                   ValidationError({"files": exc.message_dict["file"]}))
            else:
                messages.success(request, "The import is queued; this page shows its progress.")
                return redirect("costs:import_detail", pk=cost_import.pk)
    imports = selectors.cost_import_list(user=request.user, source=source)[:RECENT_IMPORTS]
    context = {"source": source, "imports": imports, "upload": upload, "pull": PullForm(), "can_manage": can_manage}
    return render(request, "costs/source_detail.html", context)


@login_required
@require_POST
def source_pull(request: HttpRequest, pk: int) -> HttpResponse:
    """Pull a source now (API window or new folder deliveries)."""
    source = selectors.cost_source_get(user=request.user, pk=pk)
    form = PullForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give valid dates (YYYY-MM-DD).")
        return redirect("costs:source_detail", pk=source.pk)
    try:
        imports = services.cost_source_pull(actor=request.user, source=source,
                                            **{k: v for k, v in form.cleaned_data.items() if v})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("costs:source_detail", pk=source.pk)
    if not imports:
        messages.info(request, "Nothing new to import in the folder.")
        return redirect("costs:source_detail", pk=source.pk)
    messages.success(request, f"Queued {len(imports)} import{'s' if len(imports) != 1 else ''}.")
    return redirect("costs:import_detail", pk=imports[0].pk)


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An import's progress (the page refreshes itself while it runs), result and first errors."""
    cost_import = selectors.cost_import_get(user=request.user, pk=pk)
    errors = selectors.cost_import_error_list(user=request.user, cost_import=cost_import)[:100]
    context = {"cost_import": cost_import, "job": cost_import.job, "errors": errors,
               "can_manage": services.can_manage_costs(request.user)}
    return render(request, "costs/import_detail.html", context)


@login_required
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    """Download an import's row-level error report as CSV."""
    cost_import = selectors.cost_import_get(user=request.user, pk=pk)
    return error_report_response(cost_import, selectors.cost_import_error_list(user=request.user,
                                                                                 cost_import=cost_import))


@login_required
@require_POST
def import_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed import again."""
    cost_import = selectors.cost_import_get(user=request.user, pk=pk)
    try:
        services.cost_import_retry(actor=request.user, cost_import=cost_import)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Queued the import again.")
    return redirect("costs:import_detail", pk=cost_import.pk)


# --- allocation rules ----------------------------------------------------------------------------------------------


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    """Allocation rules in the order they apply, and how much cost is still unallocated."""
    _require_reader(request)
    total = selectors.cost_explorer_total(queryset=selectors.cost_daily_list(user=request.user))
    unallocated = selectors.cost_explorer_total(
        queryset=selectors.cost_daily_list(user=request.user).filter(initiative__isnull=True,
                                                                     business_unit__isnull=True))
    context = {
        "rules": selectors.allocation_rule_list(user=request.user),
        "can_manage": services.can_manage_costs(request.user),
        "tag_key": selectors.settings.COST_TAG_KEY,
        "convention_priority": selectors.settings.COST_TAG_CONVENTION_PRIORITY,
        "total": total["amount"],
        "unallocated": unallocated["amount"],
    }
    return render(request, "costs/rule_list.html", context)


def _rule_form(request: HttpRequest, initial: dict) -> AllocationRuleForm:
    return AllocationRuleForm(request.POST or None, initial=initial,
                              initiatives=initiative_list(user=request.user).order_by("key"),
                              units=business_unit_list(user=request.user))


@login_required
@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    """Add an allocation rule (re-allocates history as a job)."""
    _require_reader(request)
    if not services.can_manage_costs(request.user):
        raise PermissionDenied("Only portfolio admins manage allocation rules.")
    form = _rule_form(request, {"priority": 100, "share": 1, "enabled": True, "kind": "tag"})
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.allocation_rule_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added the rule “{rule.name}”; cost history is being re-allocated.")
            return redirect("costs:rule_list")
    return render(request, "costs/rule_form.html", {"form": form, "rule": None})


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an allocation rule (re-allocates history as a job)."""
    rule = selectors.allocation_rule_get(user=request.user, pk=pk)
    if not services.can_manage_costs(request.user):
        raise PermissionDenied("Only portfolio admins manage allocation rules.")
    initial = {name: getattr(rule, name) for name in services.RULE_FIELDS}
    form = _rule_form(request, initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.allocation_rule_update(actor=request.user, rule=rule, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved the rule “{rule.name}”; cost history is being re-allocated.")
            return redirect("costs:rule_list")
    return render(request, "costs/rule_form.html", {"form": form, "rule": rule})


@login_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an allocation rule (re-allocates history as a job)."""
    rule = selectors.allocation_rule_get(user=request.user, pk=pk)
    services.allocation_rule_delete(actor=request.user, rule=rule)
    messages.success(request, f"Deleted the rule “{rule.name}”; cost history is being re-allocated.")
    return redirect("costs:rule_list")


@login_required
@require_POST
def reallocate(request: HttpRequest) -> HttpResponse:
    """Re-allocate all cost history now."""
    _require_reader(request)
    job = services.cost_reallocate_schedule(actor=request.user, reason="requested on the rules page")
    messages.success(request, f"Re-allocation queued (job #{job.pk}).")
    return redirect("costs:rule_list")


# --- FX rates ------------------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def fx_list(request: HttpRequest) -> HttpResponse:
    """FX rates to the reporting currency; admins add one or paste many."""
    can_manage = services.can_manage_costs(request.user)
    mode = request.POST.get("mode", "single") if request.method == "POST" else ""
    single = FxRateForm(request.POST if mode == "single" else None)
    bulk = FxCSVForm(request.POST if mode == "csv" else None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only portfolio admins set FX rates.")
        try:
            if mode == "single" and single.is_valid():
                rate = services.fx_rate_set(actor=request.user, **single.cleaned_data)
                messages.success(request, f"Saved: 1 {rate.currency} = {rate.rate.normalize()} "
                                          f"{selectors.settings.REPORTING_CURRENCY} from {rate.valid_from}.")
                return redirect("costs:fx_list")
            if mode == "csv" and bulk.is_valid():
                count = services.fx_rates_import_csv(actor=request.user, text=bulk.cleaned_data["csv"])
                messages.success(request, f"Saved {count} FX rate{'s' if count != 1 else ''}.")
                return redirect("costs:fx_list")
        except ValidationError as exc:
            add_service_errors(single if mode == "single" else bulk, exc)
    context = {"rates": selectors.fx_rate_list(user=request.user), "single": single, "bulk": bulk,
               "can_manage": can_manage, "currency": selectors.settings.REPORTING_CURRENCY}
    return render(request, "costs/fx_list.html", context)


@login_required
@require_POST
def fx_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an FX rate."""
    rate = selectors.fx_rate_get(user=request.user, pk=pk)
    services.fx_rate_delete(actor=request.user, fx_rate=rate)
    messages.success(request, f"Deleted the {rate.currency} rate from {rate.valid_from}.")
    return redirect(reverse("costs:fx_list"))
