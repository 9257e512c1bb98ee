"""HTML pages of compliance: the posture overview, an initiative's compliance tab and its forms, frameworks, risks,
findings, data assets and the gate-review inbox.

Thin adapters: read through selectors (scoped; out of scope is 404), write through services (ValidationError on the
form, PermissionDenied as a 403 page), render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.selectors import business_unit_list, user_access_scope, user_list_active
from apps.audit.choices import SecurityAction
from apps.audit.services import audit_security_event
from apps.compliance import charts, selectors, services
from apps.compliance.choices import (
    CheckCode,
    FindingStatus,
    GateReviewStatus,
    ResultStatus,
    RiskCategory,
    RiskStatus,
    Severity,
)
from apps.compliance.filters import DataAssetFilterSet, FindingFilterSet, RiskFilterSet
from apps.compliance.forms import (
    AssessmentStartForm,
    ClassificationForm,
    DataAssetForm,
    DataAssetLinkForm,
    EvidenceForm,
    FrameworkForm,
    GateCriterionForm,
    GateDecisionForm,
    GateReviewForm,
    NoteForm,
    RequirementForm,
    ResultForm,
    RiskForm,
)
from apps.compliance.gates import CRITERIA, gate_evaluate
from apps.compliance.models import Evidence
from apps.compliance.permissions import can_write_initiative_compliance, is_compliance_writer
from apps.core.access import can
from apps.portfolio.choices import Stage
from apps.portfolio.forms import add_service_errors
from apps.portfolio.selectors import initiative_get
from apps.portfolio.services import can_move_stage
from apps.portfolio.stages import FORWARD

PAGE_SIZE = 50
GATED_TARGETS = (Stage.PILOT, Stage.PRODUCTION, Stage.SCALED)


def evidence_file_response(request: HttpRequest, evidence: Evidence) -> FileResponse:
    """Serve an evidence file as an attachment (never rendered inline), and record the download in the trail."""
    if evidence.kind != "file" or not evidence.file:
        raise Http404("This evidence is a link, not a file.")
    try:
        handle = evidence.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404("The stored file is missing.") from exc
    audit_security_event(action=SecurityAction.EXPORT, actor=request.user, request=request,
                         initiative_id=evidence.initiative_id, business_unit_id=evidence.initiative.business_unit_id,
                         detail={"what": "evidence", "evidence_id": evidence.pk, "sha256": evidence.sha256})
    response = FileResponse(handle, as_attachment=True, filename=evidence.original_name or "evidence",
                            content_type=evidence.content_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


def _page(request: HttpRequest, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


# --- overview -------------------------------------------------------------------------------------------------------


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    """Portfolio posture: business unit × framework heatmap, risk matrix, open findings, tiers, reviews waiting."""
    user = request.user
    posture = selectors.compliance_posture(user=user)
    rows = []
    for unit in posture.units:
        cells = []
        for framework in posture.frameworks:
            cell = posture.cell(unit.pk, framework.pk)
            if cell is None:
                cells.append((None, 0, 0))
            else:
                met = cell.counts[ResultStatus.COMPLIANT]
                cells.append((cell.score, met, cell.applicable - cell.counts[ResultStatus.NOT_APPLICABLE]))
        rows.append((unit, cells))
    matrix = selectors.risk_matrix(user=user)
    tiers = selectors.risk_tier_counts(user=user)
    most = max(tiers.values()) or 1
    context = {
        "posture": posture,
        "rows": rows,
        "posture_chart": charts.posture_heatmap_figure(
            units=[unit.name for unit in posture.units], frameworks=[f.short_name for f in posture.frameworks],
            cells=[cells for _, cells in rows]) if rows else None,
        "matrix": matrix,
        "risk_chart": charts.risk_matrix_figure(matrix.counts) if matrix.total else None,
        "finding_counts": selectors.finding_counts(user=user),
        "tier_counts": tiers,
        "tier_rows": [(tier, count, round(100 * count / most)) for tier, count in tiers.items()],
        "inbox_count": selectors.gate_review_inbox(user=user).count(),
        "can_write": is_compliance_writer(user),
    }
    return render(request, "compliance/overview.html", context)


# --- one initiative ---------------------------------------------------------------------------------------------


def _gate_previews(initiative) -> list:
    """The gates of the stages the initiative may move into next (those with criteria)."""
    targets = [to for (frm, to) in FORWARD if frm == initiative.stage and to in GATED_TARGETS]
    return [gate_evaluate(initiative=initiative, to_stage=target) for target in targets]


@login_required
def initiative_compliance(request: HttpRequest, key: str) -> HttpResponse:
    """The compliance tab of an initiative: classification, requirements by framework with status and evidence,
    findings, risks, data assets, gate status and reviews."""
    user = request.user
    initiative = initiative_get(user=user, key=key)
    data = selectors.initiative_compliance(user=user, initiative=initiative)
    can_write = can_write_initiative_compliance(user, initiative)
    context = {
        "initiative": initiative,
        "data": data,
        "gates": [gate for gate in _gate_previews(initiative) if gate.required],
        "can_write": can_write,
        "can_review": is_compliance_writer(user),
        "can_request_review": can_move_stage(user, initiative),
        "start_form": AssessmentStartForm(frameworks=selectors.framework_list(user=user, include_inactive=False)
                                          .filter(pk__in=[b.framework.pk for b in data.frameworks if not
                                                          b.assessment])) if can_write else None,
        "link_form": DataAssetLinkForm(assets=selectors.data_asset_list(user=user).exclude(
            pk__in=[link.data_asset_id for link in data.data_links])) if can_write else None,
        "now": timezone.now(),
    }
    return render(request, "compliance/initiative.html", context)


def _writable_initiative(request: HttpRequest, key: str, what: str):
    initiative = initiative_get(user=request.user, key=key)
    if not can_write_initiative_compliance(request.user, initiative):
        raise PermissionDenied(f"You may view {initiative.key} but not {what}.")
    return initiative


def _back(initiative, anchor: str = "") -> HttpResponse:
    return redirect(reverse("compliance:initiative", args=[initiative.key]) + (f"#{anchor}" if anchor else ""))


@login_required
@require_http_methods(["GET", "POST"])
def classify(request: HttpRequest, key: str) -> HttpResponse:
    """The EU AI Act questionnaire; the outcome (tier, role, reasons) is stored as a new classification."""
    initiative = _writable_initiative(request, key, "classify it")
    current = selectors.classification_list(user=request.user, initiative=initiative).first()
    initial = current.answers if current else {}
    form = ClassificationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.classification_record(actor=request.user, initiative=initiative,
                                                    answers=form.answers(), note=form.cleaned_data["note"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Classified {initiative.key}: {record.get_risk_tier_display()}, "
                                      f"{record.get_operator_role_display().lower()}.")
            return _back(initiative, "classification")
    return render(request, "compliance/classify.html", {"initiative": initiative, "form": form, "current": current})


@login_required
@require_http_methods(["GET", "POST"])
def evidence_add(request: HttpRequest, key: str) -> HttpResponse:
    """Upload a file or record a link as evidence (optionally superseding an earlier version)."""
    initiative = _writable_initiative(request, key, "add its evidence")
    supersedes = None
    if request.GET.get("supersedes") or request.POST.get("supersedes"):
        supersedes = selectors.evidence_get(user=request.user, pk=int(request.GET.get("supersedes")
                                                                       or request.POST.get("supersedes")))
        if supersedes.initiative_id != initiative.pk:
            raise Http404("No such evidence for this initiative.")
    requirements = selectors.applicable_requirements(initiative=initiative)
    initial = {}
    if supersedes is not None:
        initial = {"title": supersedes.title, "category": supersedes.category,
                   "requirements": list(supersedes.requirements.all())}
    elif request.GET.get("requirement"):
        initial = {"requirements": requirements.filter(pk=request.GET["requirement"])}
    form = EvidenceForm(request.POST or None, request.FILES or None, requirements=requirements, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        common = {"actor": request.user, "initiative": initiative, "title": data["title"],
                  "category": data["category"], "description": data["description"],
                  "requirements": list(data["requirements"]), "supersedes": supersedes}
        try:
            if data["file"]:
                evidence = services.evidence_upload(file=data["file"], **common)
            else:
                evidence = services.evidence_add_link(url=data["url"], **common)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Added the evidence “{evidence.title}”.")
            return _back(initiative, "evidence")
    return render(request, "compliance/evidence_form.html",
                  {"initiative": initiative, "form": form, "supersedes": supersedes})


@login_required
def evidence_download(request: HttpRequest, pk: int) -> FileResponse:
    """An evidence file, as an attachment, for anyone who may see its initiative (404 for everyone else)."""
    return evidence_file_response(request, selectors.evidence_get(user=request.user, pk=pk))


@login_required
@require_POST
def run_checks(request: HttpRequest, key: str) -> HttpResponse:
    """Run the automated checks for this initiative now."""
    initiative = initiative_get(user=request.user, key=key)
    summary = services.compliance_audit_now(actor=request.user, initiative=initiative)
    messages.success(request, f"Checks run: {summary.opened + summary.reopened} finding(s) opened, "
                              f"{summary.resolved} resolved, {summary.still_open} still open.")
    return _back(initiative, "findings")


@login_required
@require_POST
def assessment_start(request: HttpRequest, key: str) -> HttpResponse:
    initiative = _writable_initiative(request, key, "start its assessments")
    form = AssessmentStartForm(request.POST, frameworks=selectors.framework_list(user=request.user,
                                                                                  include_inactive=False))
    if form.is_valid():
        try:
            assessment = services.assessment_start(actor=request.user, initiative=initiative,
                                                   framework=form.cleaned_data["framework"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            return redirect("compliance:assessment", pk=assessment.pk)
    return _back(initiative, "requirements")


@login_required
def assessment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One assessment: every applicable requirement with its result, evidence, sign-off and the forms to change them."""
    user = request.user
    assessment = selectors.assessment_get(user=user, pk=pk)
    initiative = assessment.initiative
    data = selectors.initiative_compliance(user=user, initiative=initiative)
    block = next((b for b in data.frameworks if b.framework.pk == assessment.framework_id), None)
    context = {
        "assessment": assessment, "initiative": initiative, "block": block,
        "can_write": can_write_initiative_compliance(user, initiative), "can_review": is_compliance_writer(user),
        "statuses": ResultStatus.choices, "note_form": NoteForm(),
    }
    return render(request, "compliance/assessment.html", context)


@login_required
@require_POST
def result_update(request: HttpRequest, pk: int) -> HttpResponse:
    result = selectors.result_get(user=request.user, pk=pk)
    form = ResultForm(request.POST)
    if form.is_valid():
        try:
            services.result_set(actor=request.user, result=result, status=form.cleaned_data["status"],
                                note=form.cleaned_data["note"], automatic=form.cleaned_data["automatic"] or None)
        except ValidationError as exc:
            messages.error(request, f"{result.requirement.code}: {' '.join(exc.messages)}")
        else:
            label = ResultStatus(form.cleaned_data["status"]).label.lower()
            messages.success(request, f"{result.requirement.code} set to {label}.")
    return redirect(reverse("compliance:assessment", args=[result.assessment_id]) + f"#req-{result.requirement_id}")


@login_required
@require_POST
def result_sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    result = selectors.result_get(user=request.user, pk=pk)
    try:
        services.result_sign_off(actor=request.user, result=result, comment=request.POST.get("comment", ""))
    except ValidationError as exc:
        messages.error(request, f"{result.requirement.code}: {' '.join(exc.messages)}")
    else:
        messages.success(request, f"Signed off {result.requirement.code}.")
    return redirect(reverse("compliance:assessment", args=[result.assessment_id]) + f"#req-{result.requirement_id}")


@login_required
@require_POST
def assessment_decide(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    assessment = selectors.assessment_get(user=request.user, pk=pk)
    note = request.POST.get("note", "")
    try:
        if verb == "approve":
            services.assessment_approve(actor=request.user, assessment=assessment, note=note)
            messages.success(request, "Assessment approved.")
        else:
            services.assessment_reopen(actor=request.user, assessment=assessment, note=note)
            messages.success(request, "Assessment reopened.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("compliance:assessment", pk=assessment.pk)


@login_required
@require_http_methods(["GET", "POST"])
def risk_edit(request: HttpRequest, key: str | None = None, pk: int | None = None) -> HttpResponse:
    """Add a risk to an initiative's register, or change one."""
    risk = selectors.risk_get(user=request.user, pk=pk) if pk is not None else None
    initiative = risk.initiative if risk else initiative_get(user=request.user, key=key)
    if not can_write_initiative_compliance(request.user, initiative):
        raise PermissionDenied(f"You may view {initiative.key} but not change its risks.")
    form = RiskForm(request.POST or None, instance=risk, users=user_list_active(),
                    initial={"owner": initiative.owner} if risk is None else None)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if risk is None:
                risk = services.risk_create(actor=request.user, initiative=initiative, **fields)
            else:
                services.risk_update(actor=request.user, risk=risk, **fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved the risk “{risk.title}”.")
            return _back(initiative, "risks")
    return render(request, "compliance/risk_form.html", {"initiative": initiative, "form": form, "risk": risk})


@login_required
@require_POST
def data_asset_link(request: HttpRequest, key: str) -> HttpResponse:
    initiative = _writable_initiative(request, key, "link data assets to it")
    form = DataAssetLinkForm(request.POST, assets=selectors.data_asset_list(user=request.user))
    if form.is_valid():
        try:
            services.data_asset_link(actor=request.user, initiative=initiative, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Choose a data asset.")
    return _back(initiative, "data")


@login_required
@require_POST
def data_asset_unlink(request: HttpRequest, pk: int) -> HttpResponse:
    link = selectors.data_asset_link_get(user=request.user, pk=pk)
    services.data_asset_unlink(actor=request.user, link=link)
    return _back(link.initiative, "data")


# --- portfolio lists --------------------------------------------------------------------------------------------


@login_required
def finding_list(request: HttpRequest) -> HttpResponse:
    """Findings of the automated checks across the portfolio, open first."""
    params = request.GET.copy()
    params.setdefault("status", FindingStatus.OPEN)
    filterset = FindingFilterSet(params, queryset=selectors.finding_list(user=request.user))
    return render(request, "compliance/finding_list.html", {
        "page": _page(request, filterset.qs), "filter": filterset, "severities": Severity.choices,
        "checks": CheckCode.choices,
    })


@login_required
def risk_list(request: HttpRequest) -> HttpResponse:
    """The portfolio risk register with its likelihood × impact heatmap; overdue reviews flagged."""
    filterset = RiskFilterSet(request.GET, queryset=selectors.risk_list(user=request.user))
    matrix = selectors.risk_matrix(user=request.user)
    return render(request, "compliance/risk_list.html", {
        "page": _page(request, filterset.qs), "filter": filterset, "matrix": matrix,
        "risk_chart": charts.risk_matrix_figure(matrix.counts) if matrix.total else None,
        "residual_chart": charts.risk_matrix_figure(matrix.residual, title="Residual risks")
        if matrix.residual else None,
        "today": timezone.localdate(), "categories": RiskCategory.choices, "risk_statuses": RiskStatus.choices,
    })


@login_required
def data_asset_list(request: HttpRequest) -> HttpResponse:
    filterset = DataAssetFilterSet(request.GET, queryset=selectors.data_asset_list(user=request.user))
    scope = user_access_scope(user=request.user)
    return render(request, "compliance/data_asset_list.html", {
        "page": _page(request, filterset.qs), "filter": filterset,
        "can_create": is_compliance_writer(request.user) or bool(scope.writable_units),
    })


@login_required
@require_http_methods(["GET", "POST"])
def data_asset_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Register a data asset, or view and change one."""
    user = request.user
    asset = selectors.data_asset_get(user=user, pk=pk) if pk is not None else None
    scope = user_access_scope(user=user)
    units = business_unit_list(user=user)
    if not (is_compliance_writer(user) or scope.write_all):
        units = units.filter(pk__in=scope.writable_units)
    can_edit = asset is None or is_compliance_writer(user) or asset.business_unit_id in scope.writable_units or \
        can(user, asset, "change")
    form = DataAssetForm(request.POST or None, instance=asset, units=units, users=user_list_active(),
                         unit_locked=asset is not None)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("You may view this data asset but not change it.")
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in form.Meta.fields if name != "business_unit"}
            try:
                if asset is None:
                    asset = services.data_asset_create(actor=user, business_unit=form.cleaned_data["business_unit"],
                                                       **fields)
                else:
                    services.data_asset_update(actor=user, data_asset=asset, **fields)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Saved the data asset “{asset.name}”.")
                return redirect("compliance:data_asset_list")
    links = asset.links.select_related("initiative") if asset else []
    return render(request, "compliance/data_asset_form.html",
                  {"form": form, "asset": asset, "can_edit": can_edit, "links": links})


# --- frameworks -------------------------------------------------------------------------------------------------


@login_required
def framework_list(request: HttpRequest) -> HttpResponse:
    return render(request, "compliance/framework_list.html", {
        "frameworks": selectors.framework_list(user=request.user), "can_write": is_compliance_writer(request.user),
    })


@login_required
def framework_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """A framework's requirements grouped by section, with where each applies and the checks proving it."""
    framework = selectors.framework_get(user=request.user, slug=slug)
    sections: dict[str, list] = {}
    for requirement in selectors.requirement_list(user=request.user, framework=framework):
        sections.setdefault(requirement.section or "Requirements", []).append(requirement)
    return render(request, "compliance/framework_detail.html", {
        "framework": framework, "sections": sections, "can_write": is_compliance_writer(request.user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def framework_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    """Create a custom framework, or edit one (built-in ones too: they are data)."""
    if not is_compliance_writer(request.user):
        raise PermissionDenied("Only compliance officers and portfolio admins edit frameworks.")
    framework = selectors.framework_get(user=request.user, slug=slug) if slug else None
    form = FrameworkForm(request.POST or None, instance=framework, editing=framework is not None)
    if request.method == "POST" and form.is_valid():
        try:
            if framework is None:
                framework = services.framework_create(actor=request.user, **form.cleaned_data)
            else:
                framework = services.framework_update(actor=request.user, framework=framework, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {framework}.")
            return redirect("compliance:framework_detail", slug=framework.slug)
    return render(request, "compliance/framework_form.html", {"form": form, "framework": framework})


@login_required
@require_http_methods(["GET", "POST"])
def requirement_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    """Add a requirement to a framework, or change one (text, applicability, checks)."""
    if not is_compliance_writer(request.user):
        raise PermissionDenied("Only compliance officers and portfolio admins edit requirements.")
    framework = selectors.framework_get(user=request.user, slug=slug)
    requirement = selectors.requirement_get(user=request.user, pk=pk) if pk else None
    if requirement is not None and requirement.framework_id != framework.pk:
        raise Http404("No such requirement in this framework.")
    form = RequirementForm(request.POST or None, instance=requirement)
    if request.method == "POST" and form.is_valid():
        fields = {name: value for name, value in form.cleaned_data.items()
                  if not (name == "position" and value is None)}
        try:
            if requirement is None:
                requirement = services.requirement_create(actor=request.user, framework=framework, **fields)
            else:
                services.requirement_update(actor=request.user, requirement=requirement, **fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved {requirement.code}.")
            return redirect(reverse("compliance:framework_detail", args=[framework.slug]) + f"#req-{requirement.pk}")
    return render(request, "compliance/requirement_form.html",
                  {"form": form, "framework": framework, "requirement": requirement})


# --- gates ------------------------------------------------------------------------------------------------------


@login_required
def gate_review_list(request: HttpRequest) -> HttpResponse:
    """The gate-review inbox: reviews waiting for my decision, then every review I may see."""
    user = request.user
    inbox = list(selectors.gate_review_inbox(user=user))
    reviews = selectors.gate_review_list(user=user)
    status = request.GET.get("status", "")
    if status in GateReviewStatus.values:
        reviews = reviews.filter(status=status)
    return render(request, "compliance/gate_review_list.html", {
        "inbox": inbox, "page": _page(request, reviews), "status": status, "statuses": GateReviewStatus.choices,
        "now": timezone.now(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def gate_review_request(request: HttpRequest, key: str) -> HttpResponse:
    """Ask for an exception to a stage gate: reason, expiry and approvers."""
    initiative = initiative_get(user=request.user, key=key)
    if not can_move_stage(request.user, initiative):
        raise PermissionDenied("Only the initiative's owner, a lead of its business unit or a portfolio admin can "
                               "request a gate review.")
    approvers = user_list_active().exclude(pk=request.user.pk)
    target = request.GET.get("stage") or request.POST.get("target_stage") or Stage.PRODUCTION
    form = GateReviewForm(request.POST or None, approvers=approvers, initial={"target_stage": target})
    gate = gate_evaluate(initiative=initiative, to_stage=target) if target in Stage.values else None
    if request.method == "POST" and form.is_valid():
        try:
            review = services.gate_review_request(actor=request.user, initiative=initiative,
                                                  target_stage=form.cleaned_data["target_stage"],
                                                  reason=form.cleaned_data["reason"],
                                                  expires_at=form.cleaned_data["expires_at"],
                                                  approvers=list(form.cleaned_data["approvers"]))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Gate review requested; the approvers see it in their inbox.")
            return redirect("compliance:gate_review", pk=review.pk)
    return render(request, "compliance/gate_review_form.html", {"initiative": initiative, "form": form,
                                                                 "gate": gate})


@login_required
@require_http_methods(["GET", "POST"])
def gate_review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One gate review: what it waives, each approver's decision, and the decision form for the current user."""
    review = selectors.gate_review_get(user=request.user, pk=pk)
    mine = next((a for a in review.approvals.all() if a.approver_id == request.user.pk), None)
    form = GateDecisionForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get("cancel"):
            services.gate_review_cancel(actor=request.user, review=review)
            messages.success(request, "Gate review cancelled.")
            return redirect("compliance:gate_review", pk=review.pk)
        if form.is_valid():
            try:
                services.gate_review_decide(actor=request.user, review=review, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Decision recorded.")
                return redirect("compliance:gate_review", pk=review.pk)
    can_cancel = review.status in (GateReviewStatus.PENDING, GateReviewStatus.APPROVED) and (
        review.requested_by_id == request.user.pk or mine is not None or user_access_scope(user=request.user).write_all)
    return render(request, "compliance/gate_review_detail.html", {
        "review": review, "mine": mine, "form": form, "can_cancel": can_cancel,
        "can_decide": mine is not None and mine.decision == "pending" and review.status == GateReviewStatus.PENDING,
        "now": timezone.now(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def gate_criteria(request: HttpRequest) -> HttpResponse:
    """The configured stage gates, and (for compliance officers and admins) the form that sets a criterion."""
    can_write = is_compliance_writer(request.user)
    form = GateCriterionForm(request.POST or None) if can_write else None
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied("Only compliance officers and portfolio admins configure stage gates.")
        if form.is_valid():
            try:
                services.gate_criterion_set(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Gate criterion saved.")
                return redirect("compliance:gate_criteria")
    rows = [(criterion, CRITERIA.get(criterion.criterion)) for criterion in selectors.gate_criterion_list(
        user=request.user)]
    return render(request, "compliance/gate_criteria.html", {"rows": rows, "form": form})
