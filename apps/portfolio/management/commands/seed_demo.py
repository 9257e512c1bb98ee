"""Build the demo portfolio through the services: units, people, objectives, ~60 initiatives, KPIs, measurements."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet
from django.utils import timezone

from apps.accounts.models import BusinessUnit, User
from apps.accounts.services import business_unit_create, membership_set, user_create
from apps.kpis.services import kpi_create, measurements_record_bulk
from apps.portfolio.choices import Decision, OperatorRole, Priority, RiskTier, Stage
from apps.portfolio.management import demo_data as demo
from apps.portfolio.models import Initiative, StrategicObjective
from apps.portfolio.services import initiative_create, initiative_transition, objective_create

SEED = 20_240_601
HISTORY_DAYS = 725  # two years of history, kept inside the past

# Each story: the moves after creation, as (to_stage, decision or None). The seed dates them backwards from today.
PATHS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "idea": (),
    "discovery": ((Stage.DISCOVERY, None),),
    "discovery_pivot": ((Stage.DISCOVERY, None), (Stage.IDEA, Decision.PIVOT), (Stage.DISCOVERY, None)),
    "pilot": ((Stage.DISCOVERY, None), (Stage.PILOT, None)),
    "pilot_purgatory": ((Stage.DISCOVERY, None), (Stage.PILOT, None)),
    "pilot_pivot": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.DISCOVERY, Decision.PIVOT),
                    (Stage.PILOT, None)),
    "production": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.PRODUCTION, None)),
    "production_paused": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.ON_HOLD, None), (Stage.PILOT, None),
                          (Stage.PRODUCTION, None)),
    "scaled": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.PRODUCTION, None), (Stage.SCALED, None)),
    "retired": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.PRODUCTION, None), (Stage.RETIRED, None)),
    "retired_scaled": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.PRODUCTION, None), (Stage.SCALED, None),
                       (Stage.RETIRED, None)),
    "on_hold": ((Stage.DISCOVERY, None), (Stage.ON_HOLD, None)),
    "on_hold_pilot": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.ON_HOLD, None)),
    "cancelled": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.CANCELLED, None)),
    "cancelled_hold": ((Stage.DISCOVERY, None), (Stage.PILOT, None), (Stage.ON_HOLD, None), (Stage.CANCELLED, None)),
}
# Days spent in a stage that was left again (min, max).
STAGE_DAYS = {
    Stage.IDEA: (12, 60), Stage.DISCOVERY: (30, 100), Stage.PILOT: (70, 170), Stage.PRODUCTION: (90, 220),
    Stage.SCALED: (90, 200), Stage.ON_HOLD: (25, 75),
}
# Days since the current stage was entered, by story (min, max). Purgatory pilots: 9 to 16 months.
CURRENT_DAYS = {
    "idea": (3, 120), "discovery": (10, 110), "discovery_pivot": (10, 60), "pilot": (20, 150),
    "pilot_purgatory": (275, 480), "pilot_pivot": (30, 200), "production": (30, 300), "production_paused": (30, 120),
    "scaled": (20, 260), "retired": (15, 200), "retired_scaled": (20, 90), "on_hold": (40, 200),
    "on_hold_pilot": (30, 150), "cancelled": (10, 250), "cancelled_hold": (10, 90),
}
# How far each story's KPIs get along the straight line to target (min, max); negative moves away from target.
QUALITY = {
    "pilot": (0.8, 1.25), "pilot_purgatory": (-0.25, 0.45), "pilot_pivot": (0.5, 1.0), "production": (0.9, 1.3),
    "production_paused": (0.85, 1.2), "scaled": (0.95, 1.35), "retired": (0.85, 1.2), "retired_scaled": (0.95, 1.25),
    "on_hold_pilot": (0.1, 0.6), "cancelled": (-0.3, 0.3), "cancelled_hold": (-0.2, 0.3),
}
RATIONALES: dict[tuple[str, str], tuple[str, ...]] = {
    (Stage.IDEA, Stage.DISCOVERY): (
        "Business case accepted by the {unit} steering group; data access agreed with the data owners.",
        "Sponsor confirmed the problem is worth solving; two weeks of data exploration approved.",
        "Shortlisted at the quarterly AI portfolio review; discovery budget released.",
    ),
    (Stage.DISCOVERY, Stage.PILOT): (
        "Offline evaluation beat the current process on last year's data; pilot approved for one region.",
        "Data quality is sufficient and the legal review is done; pilot with 25 users approved.",
        "Prototype validated with the business; gate review passed with a measured baseline.",
    ),
    (Stage.PILOT, Stage.PRODUCTION): (
        "Pilot met its KPI targets for eight consecutive weeks; go-live approved by the AI board.",
        "Pilot results signed off by the sponsor; monitoring, runbook and model card in place.",
        "Gate review passed: measured benefit confirmed by Finance, risk assessment complete.",
    ),
    (Stage.PRODUCTION, Stage.SCALED): (
        "Stable for a quarter with no incidents; rolled out to all regions and channels.",
        "Benefits confirmed at scale in the first rollout wave; extended to the whole unit.",
    ),
    (Stage.PRODUCTION, Stage.RETIRED): (
        "Superseded by the group-wide platform solution; model decommissioned.",
        "The process it supported was outsourced; model switched off and archived.",
    ),
    (Stage.SCALED, Stage.RETIRED): ("Replaced by a newer model generation; the old model was archived.",),
    (Stage.DISCOVERY, Stage.IDEA): (
        "Pivot: the data needed is not captured today; reframing the problem around the data we have.",
    ),
    (Stage.PILOT, Stage.DISCOVERY): (
        "Pivot: the pilot showed the users need a different workflow; back to discovery to redesign.",
        "Pivot: accuracy was fine but the process change was rejected; re-scoping with the business.",
    ),
    (Stage.ON_HOLD, Stage.PILOT): ("Vendor contract signed; pilot resumed with the same users.",),
}
PAUSE_RATIONALES = (
    "Paused: the data-sharing agreement with the vendor is still being negotiated.",
    "Paused: the team moved to a regulatory deadline for two quarters.",
    "Paused until the new core system is live; the integration would be thrown away otherwise.",
)
KILL_RATIONALES = (
    "Killed: six months of pilot did not move the KPI; the budget goes to stronger candidates.",
    "Killed: the vendor product covers the need at a fraction of the cost.",
    "Killed: the risk assessment found the use case would be high-risk with no viable mitigation.",
)
HIGH_RISK_UNITS = {"underwriting"}


@dataclass
class Context:
    rng: random.Random
    users: dict[str, User]
    units: dict[str, BusinessUnit]
    objectives: dict[str, StrategicObjective]
    today: date
    now: datetime


class Command(BaseCommand):
    help = "Build the demo portfolio (idempotent: does nothing when it is already there; --reset rebuilds it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Delete the demo portfolio and build it again.")
        parser.add_argument("--mlflow-url", default="",
                            help="A demo MLflow server to seed and connect (make demo starts one).")
        parser.add_argument("--no-extras", action="store_true",
                            help="Only the portfolio: no cost files, no MLflow, no compliance audit.")

    def handle(self, *args: Any, reset: bool = False, mlflow_url: str = "", no_extras: bool = False,
               **options: Any) -> None:
        self._portfolio(reset=reset)
        if not no_extras:
            self._extras(mlflow_url=mlflow_url)

    def _extras(self, *, mlflow_url: str) -> None:
        """Costs, models and compliance findings for the demo portfolio; each step is idempotent."""
        from apps.compliance.services.audit import compliance_audit_run
        from apps.costs.demo import seed_demo_costs

        started = time.monotonic()
        costs = seed_demo_costs(months=6)
        self.stdout.write(f"Demo costs ready in {time.monotonic() - started:.1f}s: {costs}")
        if mlflow_url:
            from apps.mlops.demo import demo_connect, demo_initiative_keys, seed_demo_mlflow

            started = time.monotonic()
            keys = demo_initiative_keys()
            seeded = seed_demo_mlflow(mlflow_url, keys)
            connected = demo_connect(mlflow_url, keys)
            self.stdout.write(f"Demo MLflow at {mlflow_url} ready in {time.monotonic() - started:.1f}s: {seeded}, "
                              f"sync {connected['sync']}")
        from apps.compliance.demo import seed_demo_compliance

        started = time.monotonic()
        assessed = seed_demo_compliance()
        summary = compliance_audit_run()
        self.stdout.write(f"Compliance assessments {assessed} and audit ready in {time.monotonic() - started:.1f}s: "
                          f"{summary}")

    def _portfolio(self, *, reset: bool) -> None:
        started = time.monotonic()
        if reset:
            self._wipe()
        elif demo_present():
            self.stdout.write("Demo portfolio already present (use --reset to rebuild it).")
            return
        elif User.objects.filter(username__in=demo.USERNAMES).exists() or BusinessUnit.objects.filter(
            slug__in=[unit.slug for unit in demo.UNITS]
        ).exists():
            raise CommandError("Some demo users or units exist but the demo portfolio is incomplete; "
                               "run `manage.py seed_demo --reset` to rebuild it.")
        from apps.compliance.gates import gates_suspended

        # The demo replays two years of history that already happened: today's stage gates do not apply to it.
        with transaction.atomic(), gates_suspended():
            counts = build(random.Random(SEED))
        self.stdout.write(self.style.SUCCESS(
            f"Demo portfolio built in {time.monotonic() - started:.1f}s: {counts['units']} business units, "
            f"{counts['users']} users, {counts['initiatives']} initiatives, {counts['kpis']} KPIs, "
            f"{counts['measurements']} measurements. Every demo user's password is '{demo.DEMO_PASSWORD}'."
        ))

    def _wipe(self) -> None:
        """Delete the demo units with their initiatives (KPIs, measurements and moves cascade), objectives, users.

        Rows of other apps that protect them (cost allocation rules, model links, ...) exist only because of the
        demo, so they go too; anything deeper than a few levels of protection is refused with a CommandError.
        """
        slugs = [unit.slug for unit in demo.UNITS]
        try:
            with transaction.atomic():
                _delete_with_dependents(Initiative.objects.filter(business_unit__slug__in=slugs))
                _delete_with_dependents(StrategicObjective.objects.filter(
                    Q(business_unit__slug__in=slugs) | Q(business_unit__isnull=True, title__in=[
                        title for _key, title, unit, _owner, _years in demo.OBJECTIVES if not unit
                    ])
                ))
                # Children before parents: the parent foreign key protects units that still have sub-units.
                for unit in sorted(BusinessUnit.objects.filter(slug__in=slugs), key=lambda u: -len(u.path)):
                    _delete_with_dependents(BusinessUnit.objects.filter(pk=unit.pk))
                _delete_with_dependents(User.objects.filter(username__in=demo.USERNAMES))
        except ProtectedError as exc:
            raise CommandError(
                f"Cannot reset: data outside the demo portfolio refers to demo users or units ({exc})."
            ) from exc
        self.stdout.write("Demo portfolio deleted.")


def _delete_with_dependents(queryset: QuerySet, depth: int = 0) -> None:
    """Delete `queryset`, first deleting the rows that protect it from deletion (at most 4 levels deep)."""
    try:
        queryset.delete()
    except ProtectedError as exc:
        if depth >= 4:
            raise
        by_model: dict[type, list[Any]] = {}
        for obj in exc.protected_objects:
            by_model.setdefault(type(obj), []).append(obj.pk)
        for model, pks in by_model.items():
            _delete_with_dependents(model._default_manager.filter(pk__in=pks), depth + 1)
        queryset.delete()


def demo_present() -> bool:
    """True when every demo unit and user exists and the demo units hold initiatives."""
    slugs = [unit.slug for unit in demo.UNITS]
    return (
        BusinessUnit.objects.filter(slug__in=slugs).count() == len(slugs)
        and User.objects.filter(username__in=demo.USERNAMES).count() == len(demo.USERNAMES)
        and Initiative.objects.filter(business_unit__slug__in=slugs).exists()
    )


def build(rng: random.Random) -> dict[str, int]:
    """Create the whole demo portfolio; returns what was created, by kind."""
    now = timezone.now().replace(microsecond=0)
    ctx = Context(rng=rng, users={}, units={}, objectives={}, today=timezone.localdate(now), now=now)
    for person in demo.USERS:
        ctx.users[person.username] = user_create(
            username=person.username, password=demo.DEMO_PASSWORD, first_name=person.first_name,
            last_name=person.last_name, email=f"{person.username.replace('-', '.')}@pilotlight.example",
            title=person.title, global_roles=(person.global_role,) if person.global_role else (),
            is_superuser=person.superuser,
        )
    for spec in demo.UNITS:
        ctx.units[spec.slug] = business_unit_create(
            name=spec.name, slug=spec.slug, parent=ctx.units.get(spec.parent), head=ctx.users.get(spec.head),
            cost_centre=spec.cost_centre,
        )
    for person in demo.USERS:
        for slug, role in person.units:
            membership_set(user=ctx.users[person.username], business_unit=ctx.units[slug], role=role)
    admin = ctx.users["admin"]
    for key, title, slug, owner, years in demo.OBJECTIVES:
        ctx.objectives[key] = objective_create(
            actor=admin, title=title, business_unit=ctx.units.get(slug), owner=ctx.users[owner],
            description=f"Strategic objective owned by {ctx.users[owner].display_name}.",
            target_date=date(ctx.today.year + years, 12, 31),
        )

    plans = [_plan(ctx, spec) for spec in demo.INITIATIVES]
    plans.sort(key=lambda plan: plan["moves"][0][0])  # keys (AI-001, ...) follow the order of registration
    kpis = measurements = 0
    for plan in plans:
        initiative = _create_initiative(ctx, plan)
        kpi_count, measurement_count = _create_kpis(ctx, plan, initiative)
        kpis += kpi_count
        measurements += measurement_count
    return {"units": len(ctx.units), "users": len(ctx.users), "initiatives": len(plans), "kpis": kpis,
            "measurements": measurements}


def _top_unit(slug: str) -> str:
    parent = {unit.slug: unit.parent for unit in demo.UNITS}[slug]
    return parent or slug


def _plan(ctx: Context, spec: demo.DemoInitiative) -> dict[str, Any]:
    """Date the story of one initiative backwards from today: [(at, to_stage, decision), ...], creation first."""
    rng = ctx.rng
    steps = PATHS[spec.path]
    current_days = rng.randint(*CURRENT_DAYS[spec.path])
    stages_left = [Stage.IDEA, *[to for to, _ in steps[:-1]]] if steps else []
    durations = [rng.randint(*STAGE_DAYS[stage]) for stage in stages_left]
    budget = HISTORY_DAYS - current_days
    if sum(durations) > budget:
        scale = budget / sum(durations)
        durations = [max(5, int(days * scale)) for days in durations]
    day_offsets = [current_days]
    for days in reversed(durations):
        day_offsets.insert(0, day_offsets[0] + days)
    moves = []
    for position, offset in enumerate(day_offsets):
        at = ctx.now - timedelta(days=offset)
        at = at.replace(hour=rng.randint(8, 17), minute=rng.choice((0, 15, 30, 45)), second=0)
        at = min(at, ctx.now - timedelta(minutes=5))
        to_stage, decision = (Stage.IDEA, None) if position == 0 else steps[position - 1]
        moves.append((at, to_stage, decision))
    top = _top_unit(spec.unit)
    owner, tech = rng.sample(demo.OWNERS[top], 2)
    return {"spec": spec, "moves": moves, "owner": owner, "technical_lead": tech, "top": top}


def _rationale(ctx: Context, spec: demo.DemoInitiative, frm: str, to: str) -> str:
    if to == Stage.ON_HOLD:
        return ctx.rng.choice(PAUSE_RATIONALES)
    if to == Stage.CANCELLED:
        return ctx.rng.choice(KILL_RATIONALES)
    options = RATIONALES.get((frm, to)) or ("Stage move approved at the portfolio review.",)
    return ctx.rng.choice(options).format(unit=ctx.units[spec.unit].name)


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randrange(low, high, 5_000))


def _create_initiative(ctx: Context, plan: dict[str, Any]) -> Initiative:
    rng = ctx.rng
    spec: demo.DemoInitiative = plan["spec"]
    moves = plan["moves"]
    unit = ctx.units[spec.unit]
    lead = ctx.users[{u.slug: u.head for u in demo.UNITS}[spec.unit]]
    owner = ctx.users[plan["owner"]]
    final = moves[-1][1]
    reached = {to for _, to, _ in moves}
    created = moves[0][0]
    if Stage.PRODUCTION in reached:
        priority = rng.choice((Priority.HIGH, Priority.HIGH, Priority.CRITICAL, Priority.MEDIUM))
        budget = _money(rng, 400_000, 1_800_000)
    elif Stage.PILOT in reached:
        priority = rng.choice((Priority.MEDIUM, Priority.HIGH, Priority.HIGH))
        budget = _money(rng, 150_000, 650_000)
    elif Stage.DISCOVERY in reached:
        priority = rng.choice((Priority.LOW, Priority.MEDIUM, Priority.MEDIUM, Priority.HIGH))
        budget = _money(rng, 40_000, 160_000)
    else:
        priority = rng.choice((Priority.LOW, Priority.MEDIUM))
        budget = None
    if final == Stage.IDEA:
        risk = RiskTier.UNCLASSIFIED
    elif plan["top"] in HIGH_RISK_UNITS or spec.name in {"Credit limit optimisation", "Churn early-warning"}:
        risk = RiskTier.HIGH
    elif spec.ai_type in {"generative", "agent"}:
        risk = RiskTier.LIMITED
    else:
        risk = rng.choice((RiskTier.MINIMAL, RiskTier.MINIMAL, RiskTier.LIMITED))
    pilot_at = next((at for at, to, _ in moves if to == Stage.PILOT), None)
    if pilot_at is not None:
        target_production = timezone.localdate(pilot_at) + timedelta(days=rng.choice((120, 150, 180)))
    else:
        target_production = ctx.today + timedelta(days=rng.choice((180, 270, 365)))
    sponsor = ctx.users["cfo"] if plan["top"] == "finance" and rng.random() < 0.5 else lead
    initiative = initiative_create(
        actor=owner, business_unit=unit, name=spec.name, ai_type=spec.ai_type,
        objectives=[ctx.objectives[key] for key in spec.objectives], created_at=created,
        rationale=f"Proposed by {owner.display_name}: {spec.problem}",
        business_problem=spec.problem, value_hypothesis=spec.hypothesis, sponsor=sponsor, owner=owner,
        technical_lead=ctx.users[plan["technical_lead"]], priority=priority,
        impact_score=rng.randint(2, 5), feasibility_score=rng.randint(2, 5), risk_tier=risk,
        operator_role=OperatorRole.PROVIDER if spec.ai_type in {"predictive_ml", "optimisation"} else
        OperatorRole.DEPLOYER,
        processes_personal_data=plan["top"] in {"claims", "underwriting", "retail-banking", "customer-service"},
        budget=budget, target_production_on=target_production,
    )
    previous = Stage.IDEA
    for at, to_stage, decision in moves[1:]:
        # The owner moves early stages and pivots; the unit lead signs off gates, pauses and kills.
        actor = owner if to_stage == Stage.DISCOVERY or decision == Decision.PIVOT else lead
        initiative_transition(
            actor=actor, initiative=initiative, to_stage=to_stage, decision=decision, at=at,
            rationale=_rationale(ctx, spec, previous, to_stage),
        )
        previous = to_stage
    initiative.refresh_from_db()
    return initiative


def _create_kpis(ctx: Context, plan: dict[str, Any], initiative: Initiative) -> tuple[int, int]:
    """Define 2-4 KPIs and record their measurement history; returns (KPIs, measurements) created."""
    rng = ctx.rng
    spec: demo.DemoInitiative = plan["spec"]
    moves = plan["moves"]
    owner = ctx.users[plan["owner"]]
    pool = demo.KPI_POOLS[spec.unit]
    templates = rng.sample(pool, rng.randint(2, min(4, len(pool))))
    stages = [to for _, to, _ in moves]
    pilot_at = next((at for at, to, _ in moves if to == Stage.PILOT), None)
    discovery_at = next((at for at, to, _ in moves if to == Stage.DISCOVERY), None)
    baseline_date = timezone.localdate(pilot_at or discovery_at or moves[0][0])
    # Measuring stops when the initiative was retired, cancelled or paused for good.
    end = ctx.today
    if stages[-1] in (Stage.RETIRED, Stage.CANCELLED, Stage.ON_HOLD):
        end = timezone.localdate(moves[-1][0])
        if stages[-1] == Stage.CANCELLED and len(stages) > 1 and stages[-2] == Stage.ON_HOLD:
            end = timezone.localdate(moves[-2][0])
    measurements = 0
    for template in templates:
        scale = rng.uniform(0.85, 1.15)
        baseline = template.baseline * scale
        target = baseline + (template.target - template.baseline) * scale * rng.uniform(0.8, 1.15)
        baseline = round(baseline, template.decimals)
        target = round(target, template.decimals)
        if (template.direction == "up" and target <= baseline) or (template.direction == "down" and target >= baseline):
            target = template.target
        horizon = rng.choice((365, 450, 540, 730)) if pilot_at else rng.choice((365, 540))
        target_date = baseline_date + timedelta(days=horizon)
        value_per_unit = None if template.value_per_unit is None else Decimal(
            str(round(template.value_per_unit * rng.uniform(0.8, 1.2), -1 if template.value_per_unit >= 100 else 0))
        )
        kpi = kpi_create(
            actor=owner, initiative=initiative, name=template.name, category=template.category, unit=template.unit,
            direction=template.direction, baseline_value=Decimal(str(baseline)), baseline_date=baseline_date,
            target_value=Decimal(str(target)), target_date=target_date, value_per_unit=value_per_unit,
            source="api" if rng.random() < 0.3 else "manual", cadence=template.cadence,
        )
        rows = _history(ctx, plan, template, baseline, target, baseline_date, target_date, end, pilot_at is not None)
        if rows:
            measurements += measurements_record_bulk(actor=owner, rows=rows, kpi=kpi, source=kpi.source)
    return len(templates), measurements


def _history(
    ctx: Context, plan: dict[str, Any], template: demo.KPITemplate, baseline: float, target: float,
    baseline_date: date, target_date: date, end: date, piloted: bool,
) -> list[dict[str, Any]]:
    """Dated values with noise, moving along the straight line to target at the story's pace (or away from it)."""
    rng = ctx.rng
    if plan["moves"][-1][1] == Stage.IDEA and len(plan["moves"]) == 1:
        return []
    span = target - baseline
    step = 7 if template.cadence == "weekly" else 30
    if not piloted:
        # Discovery measures the baseline only.
        return [{"date": baseline_date, "value": Decimal(str(baseline)), "note": "Baseline measured in discovery."}]
    quality = rng.uniform(*QUALITY[plan["spec"].path])
    noise = abs(span) * rng.uniform(0.03, 0.07)
    days = []
    day = baseline_date
    while day <= end:
        days.append(day)
        day += timedelta(days=step)
    total_days = max(1, (target_date - baseline_date).days)
    rows = []
    for day in days:
        if day > min(end, ctx.today):
            break
        share = min(1.2, (day - baseline_date).days / total_days) * quality
        value = baseline + span * share + rng.gauss(0, noise)
        if template.unit == "%":
            value = min(100.0, value)
        value = max(0.0, value)
        rows.append({"date": day, "value": Decimal(str(round(value, template.decimals)))})
    return rows
