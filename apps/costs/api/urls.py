from django.urls import re_path

from apps.costs.api.views import (
    FINANCIALS_PATH,
    AllocationRuleViewSet,
    CostImportViewSet,
    CostRecordViewSet,
    CostSourceViewSet,
    FxRateViewSet,
    InitiativeFinancialsView,
)

ROUTES = [
    ("cost-sources", CostSourceViewSet, "cost-source"),
    ("cost-imports", CostImportViewSet, "cost-import"),
    ("cost-records", CostRecordViewSet, "cost-record"),
    ("allocation-rules", AllocationRuleViewSet, "allocation-rule"),
    ("fx-rates", FxRateViewSet, "fx-rate"),
]
URLS = [re_path(FINANCIALS_PATH, InitiativeFinancialsView.as_view(), name="initiative-financials")]
