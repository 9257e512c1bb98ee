"""Allocation: the tag convention, explicit rules with priorities and split shares, sub-accounts to units, resource
prefixes, and re-allocation of history when rules or initiatives change."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum

from apps.audit.models import AuditEvent
from apps.core.choices import JobStatus
from apps.core.models import Job
from apps.costs.choices import RuleKind
from apps.costs.models import AllocationRule, CostAllocation, CostDaily, CostDimension
from apps.costs.services import (
    REALLOCATE_JOB,
    allocation_rule_create,
    allocation_rule_delete,
    allocation_rule_update,
    cost_import_file,
    cost_reallocate_run,
)
from tests.factories import make_initiative

pytestmark = pytest.mark.django_db

HEADER = ("ChargePeriodStart,ChargePeriodEnd,BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ProviderName,"
          "ServiceName,SubAccountId,ResourceId,Tags")


def line(amount: str, *, account: str = "acct-1", resource: str = "res-1", tags: dict | None = None,
         day: str = "2025-01-01") -> str:
    tag_text = json.dumps(tags or {}).replace('"', '""')
    return f'{day}T00:00:00Z,{day}T23:59:59Z,{amount},{amount},EUR,Usage,AWS,S3,{account},{resource},"{tag_text}"'


def load(admin_user, source, tmp_path, *lines: str) -> None:
    path = tmp_path / "costs.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n")
    cost_import = cost_import_file(actor=admin_user, source=source, paths=[path])
    assert cost_import.status == "succeeded", cost_import.error


def by_target() -> dict[str, Decimal]:
    rows = CostDaily.objects.values("initiative__key", "business_unit__slug").annotate(total=Sum("effective_cost"))
    return {row["initiative__key"] or row["business_unit__slug"] or "unallocated": row["total"] for row in rows}


def test_the_tag_convention_sends_cost_to_the_initiative_named_by_the_tag(admin_user, initiatives, focus_source,
                                                                          tmp_path):
    # given lines tagged with initiative keys (any case, provider-prefixed or not) and an untagged one
    load(admin_user, focus_source, tmp_path,
         line("10", tags={"pilotlight-initiative": "AI-001"}),
         line("20", tags={"user:pilotlight-initiative": "ai-002"}),
         line("5", tags={"pilotlight-initiative": "AI-999"}),
         line("7"))

    # then tagged cost reaches the initiatives, and the rest stays visible as unallocated
    assert by_target() == {"AI-001": Decimal("10"), "AI-002": Decimal("20"), "unallocated": Decimal("12")}


def test_split_rules_share_the_cost_and_leave_the_remainder_unallocated(admin_user, initiatives, focus_source,
                                                                        tmp_path):
    # given a 60/30 split of the "team=fraud" tag between two initiatives (10% left over)
    allocation_rule_create(actor=admin_user, name="Fraud team A", kind=RuleKind.TAG, tag_key="team",
                           tag_value="fraud", initiative=initiatives[0], share=Decimal("0.6"))
    allocation_rule_create(actor=admin_user, name="Fraud team B", kind=RuleKind.TAG, tag_key="team",
                           tag_value="fraud", initiative=initiatives[1], share=Decimal("0.3"))

    # when cost tagged team=fraud is imported
    load(admin_user, focus_source, tmp_path, line("100.01", tags={"team": "fraud"}))

    # then it is split 60/30/10 and the parts add up to the line exactly
    assert by_target() == {"AI-001": Decimal("60.006"), "AI-002": Decimal("30.003"), "unallocated": Decimal("10.001")}
    assert sum(by_target().values()) == Decimal("100.01")


def test_shares_over_one_at_the_winning_priority_are_scaled_to_exactly_one(admin_user, initiatives, focus_source,
                                                                           tmp_path):
    # given a sub-account rule and a resource rule at the same priority, both taking everything
    allocation_rule_create(actor=admin_user, name="Account", kind=RuleKind.SUB_ACCOUNT, sub_account_id="acct-9",
                           initiative=initiatives[0], priority=50)
    allocation_rule_create(actor=admin_user, name="Bucket", kind=RuleKind.RESOURCE_PREFIX,
                           resource_prefix="arn:aws:s3:::claims-", initiative=initiatives[1], priority=50)

    # when a line matches both, and its amount does not split evenly in thirds
    allocation_rule_create(actor=admin_user, name="Third", kind=RuleKind.RESOURCE_PREFIX,
                           resource_prefix="arn:aws:s3:::claims-docs", initiative=initiatives[2], priority=50)
    load(admin_user, focus_source, tmp_path, line("10", account="acct-9", resource="arn:aws:s3:::claims-docs"))

    # then the three share it and the shares sum to exactly 1
    shares = list(CostAllocation.objects.values_list("share", flat=True))
    assert sum(shares) == 1
    assert sorted(shares) == [Decimal("0.333333333333"), Decimal("0.333333333333"), Decimal("0.333333333334")]
    assert sum(by_target().values()) == Decimal("10")


def test_lower_priority_numbers_win_over_the_tag_convention_and_higher_ones_lose(admin_user, initiatives,
                                                                                  focus_source, tmp_path, unit_b):
    # given an override rule (priority 5) and a fallback account rule to a unit (priority 200)
    allocation_rule_create(actor=admin_user, name="Override", kind=RuleKind.RESOURCE_PREFIX,
                           resource_prefix="shared-", initiative=initiatives[2], priority=5)
    allocation_rule_create(actor=admin_user, name="Retail account", kind=RuleKind.SUB_ACCOUNT,
                           sub_account_id="acct-retail", business_unit=unit_b, priority=200)

    # when lines match the tag convention (priority 10) and one of the rules
    load(admin_user, focus_source, tmp_path,
         line("1", resource="shared-db", tags={"pilotlight-initiative": "AI-001"}),
         line("2", account="acct-retail", tags={"pilotlight-initiative": "AI-002"}),
         line("4", account="acct-retail"))

    # then the override beats the convention, the convention beats the fallback, and the fallback gets the rest
    assert by_target() == {"AI-003": Decimal("1"), "AI-002": Decimal("2"), "retail-banking": Decimal("4")}


def test_changing_rules_reallocates_history(admin_user, initiatives, focus_source, tmp_path):
    # given imported cost with a tag no rule knows yet
    load(admin_user, focus_source, tmp_path, line("50", tags={"app": "ocr"}), line("8"))
    assert by_target() == {"unallocated": Decimal("58")}

    # when a rule is added for it, the scheduled re-allocation job runs
    rule = allocation_rule_create(actor=admin_user, name="OCR", kind=RuleKind.TAG, tag_key="app", tag_value="ocr",
                                  initiative=initiatives[1])
    job = Job.objects.get(kind=REALLOCATE_JOB, status=JobStatus.QUEUED)
    cost_reallocate_run(job_id=job.pk)

    # then history moved to the initiative, and the run is one audit event
    assert by_target() == {"AI-002": Decimal("50"), "unallocated": Decimal("8")}
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert AuditEvent.objects.filter(kind="security", action="cost_reallocation").count() == 1

    # and when the rule changes target and then goes away, history follows each time
    allocation_rule_update(actor=admin_user, rule=rule, initiative=initiatives[2])
    cost_reallocate_run(job_id=Job.objects.get(kind=REALLOCATE_JOB, status=JobStatus.QUEUED).pk)
    assert by_target() == {"AI-003": Decimal("50"), "unallocated": Decimal("8")}
    allocation_rule_delete(actor=admin_user, rule=rule)
    cost_reallocate_run(job_id=Job.objects.get(kind=REALLOCATE_JOB, status=JobStatus.QUEUED).pk)
    assert by_target() == {"unallocated": Decimal("58")}


def test_an_initiative_registered_after_its_costs_were_imported_gets_them_on_reallocation(admin_user, unit_a,
                                                                                           focus_source, tmp_path):
    # given cost tagged with a key that does not exist yet
    load(admin_user, focus_source, tmp_path, line("30", tags={"pilotlight-initiative": "AI-077"}))
    assert by_target() == {"unallocated": Decimal("30")}

    # when the initiative is registered and history re-allocated
    make_initiative(actor=admin_user, unit=unit_a, key="AI-077", name="Late registration")
    cost_reallocate_run(actor=admin_user)

    # then the cost is its own
    assert by_target() == {"AI-077": Decimal("30")}


def test_rules_are_applied_once_per_dimension_not_per_line(admin_user, initiatives, focus_source, tmp_path):
    # given 50 lines over two resources with the same tags
    lines = [line("1", resource=f"res-{index % 2}", tags={"pilotlight-initiative": "AI-001"},
                  day=f"2025-01-{1 + index % 28:02d}") for index in range(50)]
    load(admin_user, focus_source, tmp_path, *lines)

    # then two dimensions carry two allocations
    assert CostDimension.objects.count() == 2
    assert CostAllocation.objects.count() == 2
    assert by_target() == {"AI-001": Decimal("50")}


def test_a_split_whose_shares_exceed_one_is_refused(admin_user, initiatives):
    allocation_rule_create(actor=admin_user, name="A", kind=RuleKind.TAG, tag_key="team", tag_value="x",
                           initiative=initiatives[0], share=Decimal("0.7"))
    with pytest.raises(ValidationError) as error:
        allocation_rule_create(actor=admin_user, name="B", kind=RuleKind.TAG, tag_key="team", tag_value="x",
                               initiative=initiatives[1], share=Decimal("0.5"))
    assert error.value.message_dict == {"share": ["Rules with this condition and priority would split 1.200000 of "
                                                  "the cost; the shares of one split must add up to at most 1."]}
    assert AllocationRule.objects.count() == 1


@pytest.mark.parametrize(("fields", "errors"), [
    ({"kind": RuleKind.SUB_ACCOUNT, "sub_account_id": ""},
     {"sub_account_id": ["A sub-account rule needs the sub-account id."],
      "initiative": ["Choose the initiative or the business unit the cost goes to."]}),
    ({"kind": RuleKind.TAG, "tag_key": "team", "tag_value": "x"},
     {"initiative": ["Choose the initiative or the business unit the tagged cost goes to."]}),
    ({"kind": RuleKind.RESOURCE_PREFIX, "resource_prefix": "arn:", "share": Decimal("1.5"), "target": True},
     {"share": ["Ensure this value is less than or equal to 1."]}),
])
def test_incomplete_rules_name_the_field_to_fix(admin_user, initiatives, fields, errors):
    if fields.pop("target", False):
        fields["initiative"] = initiatives[0]
    with pytest.raises(ValidationError) as error:
        allocation_rule_create(actor=admin_user, name="Bad", **fields)
    assert error.value.message_dict == errors
    assert not AllocationRule.objects.exists()


def test_only_portfolio_admins_change_rules(executive, lead_a, initiatives):
    for user in (executive, lead_a):
        with pytest.raises(PermissionDenied):
            allocation_rule_create(actor=user, name="X", kind=RuleKind.TAG, tag_key="k", tag_value="v",
                                   initiative=initiatives[0])
    assert not AllocationRule.objects.exists()


def test_a_rule_change_queues_one_reallocation_however_many_rules_change(admin_user, initiatives):
    for index in range(3):
        allocation_rule_create(actor=admin_user, name=f"R{index}", kind=RuleKind.TAG, tag_key="k",
                               tag_value=str(index), initiative=initiatives[0])
    assert Job.objects.filter(kind=REALLOCATE_JOB).count() == 1
