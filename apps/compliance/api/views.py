"""Compliance API: frameworks, requirements, classifications, assessments, requirement results, evidence, findings,
risks, data assets, gate reviews and gate criteria. Thin adapters: selectors read (scoped), services write."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import FileResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.compliance import selectors, services
from apps.compliance.api import serializers as s
from apps.compliance.classification import QUESTIONS
from apps.compliance.filters import (
    AssessmentFilterSet,
    ClassificationFilterSet,
    DataAssetFilterSet,
    EvidenceFilterSet,
    FindingFilterSet,
    GateReviewFilterSet,
    RequirementFilterSet,
    ResultFilterSet,
    RiskFilterSet,
)
from apps.compliance.views import evidence_file_response
from apps.core.api.schema import (
    CREATE_ERRORS,
    DETAIL_ERRORS,
    FILTERED_LIST_ERRORS,
    LIST_ERRORS,
    UPDATE_ERRORS,
    error_responses,
)
from apps.core.api.serializers import JobOutputSerializer


def _list(summary: str, serializer, description: str = "", filtered: bool = True):
    return extend_schema(summary=summary, description=description,
                         responses={200: serializer(many=True),
                                    **error_responses(*(FILTERED_LIST_ERRORS if filtered else LIST_ERRORS))})


def _detail(summary: str, serializer):
    return extend_schema(summary=summary, responses={200: serializer, **error_responses(*DETAIL_ERRORS)})


def _create(summary: str, request, serializer, description: str = ""):
    return extend_schema(summary=summary, description=description, request=request,
                         responses={201: serializer, **error_responses(*CREATE_ERRORS)})


def _update(summary: str, request, serializer, description: str = ""):
    return extend_schema(summary=summary, description=description, request=request,
                         responses={200: serializer, **error_responses(*UPDATE_ERRORS)})


class _Base(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filter_backends = [DjangoFilterBackend]

    def _input(self, serializer_class, **kwargs):
        serializer = serializer_class(data=self.request.data, context=self.get_serializer_context(), **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _output(self, instance, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer_class()(fresh, context=self.get_serializer_context()).data,
                        status=status_code)


# --- frameworks and requirements ---------------------------------------------------------------------------------


@extend_schema_view(
    list=_list("List frameworks", s.FrameworkOutputSerializer, "Built-in and custom frameworks, active or not.",
               filtered=False),
    retrieve=_detail("Get one framework by slug", s.FrameworkOutputSerializer),
    create=_create("Create a custom framework", s.FrameworkInputSerializer, s.FrameworkOutputSerializer,
                   "Compliance officers and portfolio admins; add its requirements with POST /requirements/. It "
                   "applies to initiatives (and shows in the posture heatmap) as soon as a requirement applies."),
    partial_update=_update("Change a framework (description, dates, active)", s.FrameworkUpdateInputSerializer,
                           s.FrameworkOutputSerializer),
)
class FrameworkViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.FrameworkOutputSerializer
    filter_backends: list = []
    lookup_field = "slug"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return selectors.framework_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        framework = services.framework_create(actor=request.user, **self._input(s.FrameworkInputSerializer))
        return self._output(framework, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, slug: str) -> Response:
        framework = selectors.framework_get(user=request.user, slug=slug)
        data = self._input(s.FrameworkUpdateInputSerializer, partial=True)
        return self._output(services.framework_update(actor=request.user, framework=framework, **data))


@extend_schema_view(
    list=_list("List requirements", s.RequirementOutputSerializer,
               "Filter by framework, by where they apply (risk_tier, operator_role, ai_type, stage) or by check."),
    retrieve=_detail("Get one requirement", s.RequirementOutputSerializer),
    create=_create("Add a requirement to a framework", s.RequirementInputSerializer, s.RequirementOutputSerializer,
                   "Existing assessments of the framework get a 'not assessed' result wherever it applies."),
    partial_update=_update("Change a requirement's text, applicability or checks",
                           s.RequirementUpdateInputSerializer, s.RequirementOutputSerializer),
)
class RequirementViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.RequirementOutputSerializer
    filterset_class = RequirementFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return selectors.requirement_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = self._input(s.RequirementInputSerializer)
        requirement = services.requirement_create(actor=request.user, **data)
        return self._output(requirement, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        requirement = selectors.requirement_get(user=request.user, pk=int(pk))
        data = self._input(s.RequirementUpdateInputSerializer, partial=True)
        return self._output(services.requirement_update(actor=request.user, requirement=requirement, **data))


# --- classification, assessments, results ------------------------------------------------------------------------


@extend_schema_view(
    list=_list("List EU AI Act classifications (history, newest first)", s.ClassificationOutputSerializer),
    retrieve=_detail("Get one classification", s.ClassificationOutputSerializer),
    create=_create("Classify an initiative from questionnaire answers", s.ClassificationInputSerializer,
                   s.ClassificationOutputSerializer,
                   "Stores tier, role and the reasons, writes them onto the initiative and keeps the history. "
                   "Compliance officers, and whoever may change the initiative."),
)
class ClassificationViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.ClassificationOutputSerializer
    filterset_class = ClassificationFilterSet

    def get_queryset(self) -> QuerySet:
        return selectors.classification_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = self._input(s.ClassificationInputSerializer)
        record = services.classification_record(actor=request.user, **data)
        return self._output(record, status.HTTP_201_CREATED)

    @extend_schema(summary="The classification questionnaire",
                   responses={200: s.QuestionSerializer(many=True), **error_responses(401)})
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def questionnaire(self, request: Request) -> Response:
        rows = [{"key": q.key, "section": q.section, "text": q.text, "reference": q.reference,
                 "choices": [list(choice) for choice in q.choices]} for q in QUESTIONS]
        return Response(s.QuestionSerializer(rows, many=True).data)


@extend_schema_view(
    list=_list("List assessments", s.AssessmentOutputSerializer),
    retrieve=_detail("Get one assessment with its counts", s.AssessmentOutputSerializer),
    create=_create("Start assessing an initiative against a framework", s.AssessmentInputSerializer,
                   s.AssessmentOutputSerializer,
                   "Creates a result per applicable requirement; automatic ones are evaluated at once."),
)
class AssessmentViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.AssessmentOutputSerializer
    filterset_class = AssessmentFilterSet

    def get_queryset(self) -> QuerySet:
        return selectors.assessment_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = self._input(s.AssessmentInputSerializer)
        return self._output(services.assessment_start(actor=request.user, **data), status.HTTP_201_CREATED)

    @_update("Approve an assessment", s.NoteInputSerializer, s.AssessmentOutputSerializer,
             "Compliance officers and admins, once every applicable requirement is compliant, partial or not "
             "applicable; otherwise 400 naming the open requirements.")
    @action(detail=True, methods=["post"], filter_backends=[])
    def approve(self, request: Request, pk: str) -> Response:
        assessment = selectors.assessment_get(user=request.user, pk=int(pk))
        note = self._input(s.NoteInputSerializer).get("note", "")
        return self._output(services.assessment_approve(actor=request.user, assessment=assessment, note=note))

    @_update("Withdraw an approval", s.NoteInputSerializer, s.AssessmentOutputSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def reopen(self, request: Request, pk: str) -> Response:
        assessment = selectors.assessment_get(user=request.user, pk=int(pk))
        note = self._input(s.NoteInputSerializer).get("note", "")
        return self._output(services.assessment_reopen(actor=request.user, assessment=assessment, note=note))


@extend_schema_view(
    list=_list("List requirement results", s.ResultOutputSerializer),
    retrieve=_detail("Get one requirement result", s.ResultOutputSerializer),
    partial_update=_update("Set a requirement's status and note", s.ResultInputSerializer, s.ResultOutputSerializer,
                           "Setting the status of an automatic result takes it over from the checks unless "
                           "`automatic` is true. Clears an earlier sign-off."),
)
class RequirementResultViewSet(_Base):
    serializer_class = s.ResultOutputSerializer
    filterset_class = ResultFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return selectors.result_list(user=self.request.user)

    def partial_update(self, request: Request, pk: str) -> Response:
        result = selectors.result_get(user=request.user, pk=int(pk))
        data = self._input(s.ResultInputSerializer)
        return self._output(services.result_set(actor=request.user, result=result, **data))

    @_update("Sign a result off as reviewed", s.SignOffInputSerializer, s.ResultOutputSerializer,
             "Compliance officers and admins; not the person who set the status.")
    @action(detail=True, methods=["post"], url_path="sign-off", filter_backends=[])
    def sign_off(self, request: Request, pk: str) -> Response:
        result = selectors.result_get(user=request.user, pk=int(pk))
        comment = self._input(s.SignOffInputSerializer).get("comment", "")
        return self._output(services.result_sign_off(actor=request.user, result=result, comment=comment))


# --- evidence and findings ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=_list("List evidence", s.EvidenceOutputSerializer),
    retrieve=_detail("Get one piece of evidence", s.EvidenceOutputSerializer),
    create=_create("Add evidence: upload a file (multipart) or record a link", s.EvidenceInputSerializer,
                   s.EvidenceOutputSerializer,
                   "Files: at most EVIDENCE_MAX_BYTES, a type in EVIDENCE_ALLOWED_TYPES that matches the content; "
                   "the SHA-256 is stored. Evidence is never edited: send `supersedes` to replace a version."),
)
class EvidenceViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.EvidenceOutputSerializer
    filterset_class = EvidenceFilterSet
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self) -> QuerySet:
        return selectors.evidence_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = dict(self._input(s.EvidenceInputSerializer))
        supersedes = data.pop("supersedes", None)
        if supersedes is not None:
            supersedes = selectors.evidence_get(user=request.user, pk=supersedes.pk)
        if data.get("file"):
            data.pop("url", None)
            evidence = services.evidence_upload(actor=request.user, supersedes=supersedes, **data)
        else:
            data.pop("file", None)
            evidence = services.evidence_add_link(actor=request.user, supersedes=supersedes, **data)
        return self._output(evidence, status.HTTP_201_CREATED)

    @extend_schema(summary="Download an evidence file (as an attachment)",
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              **error_responses(*DETAIL_ERRORS)})
    @action(detail=True, methods=["get"], filter_backends=[])
    def download(self, request: Request, pk: str) -> FileResponse:
        return evidence_file_response(request, selectors.evidence_get(user=request.user, pk=int(pk)))

    @_update("Also count this evidence for more requirements", s.RequirementsInputSerializer,
             s.EvidenceOutputSerializer)
    @action(detail=True, methods=["post"], url_path="link-requirements", filter_backends=[])
    def link_requirements(self, request: Request, pk: str) -> Response:
        evidence = selectors.evidence_get(user=request.user, pk=int(pk))
        data = self._input(s.RequirementsInputSerializer)
        services.evidence_link_requirements(actor=request.user, evidence=evidence, **data)
        return self._output(evidence)


@extend_schema_view(
    list=_list("List findings of the automated checks", s.FindingOutputSerializer),
    retrieve=_detail("Get one finding", s.FindingOutputSerializer),
)
class FindingViewSet(_Base):
    serializer_class = s.FindingOutputSerializer
    filterset_class = FindingFilterSet

    def get_queryset(self) -> QuerySet:
        return selectors.finding_list(user=self.request.user)

    @extend_schema(
        summary="Run the automated checks now",
        description="One initiative (whoever may change it, and compliance officers), or the whole portfolio "
                    "(compliance officers and admins). 202 with a job to poll at /api/v1/jobs/{id}/.",
        request=s.AuditRunInputSerializer,
        responses={202: OpenApiResponse(JobOutputSerializer, description="The queued audit."),
                   **error_responses(*CREATE_ERRORS)},
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def run(self, request: Request) -> Response:
        data = self._input(s.AuditRunInputSerializer)
        job = services.compliance_audit_request(actor=request.user, initiative=data.get("initiative"))
        return Response(JobOutputSerializer(job).data, status=status.HTTP_202_ACCEPTED)


# --- risks and data assets ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=_list("List risks (the risk register)", s.RiskOutputSerializer),
    retrieve=_detail("Get one risk", s.RiskOutputSerializer),
    create=_create("Add a risk to an initiative's register", s.RiskInputSerializer, s.RiskOutputSerializer),
    partial_update=_update("Change a risk", s.RiskUpdateInputSerializer, s.RiskOutputSerializer),
)
class RiskViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.RiskOutputSerializer
    filterset_class = RiskFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return selectors.risk_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = self._input(s.RiskInputSerializer)
        return self._output(services.risk_create(actor=request.user, **data), status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        risk = selectors.risk_get(user=request.user, pk=int(pk))
        data = self._input(s.RiskUpdateInputSerializer, partial=True)
        return self._output(services.risk_update(actor=request.user, risk=risk, **data))


@extend_schema_view(
    list=_list("List data assets", s.DataAssetOutputSerializer),
    retrieve=_detail("Get one data asset", s.DataAssetOutputSerializer),
    create=_create("Register a data asset", s.DataAssetInputSerializer, s.DataAssetOutputSerializer),
    partial_update=_update("Change a data asset", s.DataAssetUpdateInputSerializer, s.DataAssetOutputSerializer),
)
class DataAssetViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.DataAssetOutputSerializer
    filterset_class = DataAssetFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return selectors.data_asset_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = self._input(s.DataAssetInputSerializer)
        return self._output(services.data_asset_create(actor=request.user, **data), status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        asset = selectors.data_asset_get(user=request.user, pk=int(pk))
        data = self._input(s.DataAssetUpdateInputSerializer, partial=True)
        return self._output(services.data_asset_update(actor=request.user, data_asset=asset, **data))

    @extend_schema(summary="Record that an initiative uses this data asset", request=s.DataAssetLinkInputSerializer,
                   responses={201: s.DataAssetLinkOutputSerializer, **error_responses(*UPDATE_ERRORS)})
    @action(detail=True, methods=["post"], filter_backends=[])
    def link(self, request: Request, pk: str) -> Response:
        asset = selectors.data_asset_get(user=request.user, pk=int(pk))
        data = self._input(s.DataAssetLinkInputSerializer)
        link = services.data_asset_link(actor=request.user, data_asset=asset, **data)
        return Response(s.DataAssetLinkOutputSerializer(link).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Record that an initiative no longer uses this data asset",
                   request=s.DataAssetLinkInputSerializer,
                   responses={204: OpenApiResponse(description="Unlinked."), **error_responses(*UPDATE_ERRORS)})
    @action(detail=True, methods=["post"], filter_backends=[])
    def unlink(self, request: Request, pk: str) -> Response:
        asset = selectors.data_asset_get(user=request.user, pk=int(pk))
        data = self._input(s.DataAssetLinkInputSerializer)
        link = selectors.data_asset_link_list(user=request.user, initiative=data["initiative"]).filter(
            data_asset=asset).first()
        if link is None:
            return Response({"initiative": [f"{data['initiative'].key} does not use this data asset."]},
                            status=status.HTTP_400_BAD_REQUEST)
        services.data_asset_unlink(actor=request.user, link=link)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- gates --------------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=_list("List gate reviews", s.GateReviewOutputSerializer, "`inbox=true`: only those waiting for your "
                                                                  "decision."),
    retrieve=_detail("Get one gate review", s.GateReviewOutputSerializer),
    create=_create("Request an exception to a stage gate", s.GateReviewInputSerializer, s.GateReviewOutputSerializer,
                   "Waives the criteria unmet now until `expires_at`, once every approver approves. Approvers are "
                   "compliance officers, portfolio admins or leads of the initiative's unit; high-risk initiatives "
                   "need a compliance officer."),
)
class GateReviewViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.GateReviewOutputSerializer
    filterset_class = GateReviewFilterSet

    def get_queryset(self) -> QuerySet:
        if self.request.query_params.get("inbox") in ("true", "1") and self.action == "list":
            return selectors.gate_review_inbox(user=self.request.user)
        return selectors.gate_review_list(user=self.request.user)

    def retrieve(self, request: Request, pk: str) -> Response:
        review = selectors.gate_review_get(user=request.user, pk=int(pk))
        return Response(s.GateReviewOutputSerializer(review).data)

    def _review_output(self, review, status_code: int = status.HTTP_200_OK) -> Response:
        fresh = selectors.gate_review_get(user=self.request.user, pk=review.pk)
        return Response(s.GateReviewOutputSerializer(fresh).data, status=status_code)

    def create(self, request: Request) -> Response:
        data = self._input(s.GateReviewInputSerializer)
        review = services.gate_review_request(actor=request.user, **data)
        return self._review_output(review, status.HTTP_201_CREATED)

    @_update("Approve or reject (as one of its approvers)", s.GateDecisionInputSerializer,
             s.GateReviewOutputSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def decide(self, request: Request, pk: str) -> Response:
        review = selectors.gate_review_get(user=request.user, pk=int(pk))
        data = self._input(s.GateDecisionInputSerializer)
        return self._review_output(services.gate_review_decide(actor=request.user, review=review, **data))

    @_update("Cancel a pending review or end an exception early", None, s.GateReviewOutputSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def cancel(self, request: Request, pk: str) -> Response:
        review = selectors.gate_review_get(user=request.user, pk=int(pk))
        return self._review_output(services.gate_review_cancel(actor=request.user, review=review))


@extend_schema_view(
    list=_list("List stage-gate criteria", s.GateCriterionOutputSerializer, filtered=False),
    retrieve=_detail("Get one stage-gate criterion", s.GateCriterionOutputSerializer),
    create=_create("Set what entering a stage requires", s.GateCriterionInputSerializer,
                   s.GateCriterionOutputSerializer,
                   "Creates or updates the criterion for (target_stage, criterion); `risk_tiers` limits it to those "
                   "tiers, `active=false` switches it off. Compliance officers and portfolio admins."),
)
class GateCriterionViewSet(_Base, mixins.CreateModelMixin):
    serializer_class = s.GateCriterionOutputSerializer
    filter_backends: list = []
    pagination_class = None

    def get_queryset(self) -> QuerySet:
        return selectors.gate_criterion_list(user=self.request.user)

    def create(self, request: Request) -> Response:
        data = self._input(s.GateCriterionInputSerializer)
        return self._output(services.gate_criterion_set(actor=request.user, **data), status.HTTP_201_CREATED)
