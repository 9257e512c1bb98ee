"""Stage rules: which moves are legal and which decisions each move may record. Pure functions, no I/O."""

from __future__ import annotations

from datetime import datetime

from apps.portfolio.choices import ACTIVE_STAGES, Decision, Stage

# (from, to) -> decisions that may record the move. Resuming from on_hold is handled separately: it may
# only return to the stage the initiative was in when it was paused.
FORWARD: dict[tuple[str, str], tuple[str, ...]] = {
    (Stage.IDEA, Stage.DISCOVERY): (Decision.ADVANCE,),
    (Stage.DISCOVERY, Stage.PILOT): (Decision.ADVANCE,),
    (Stage.PILOT, Stage.PRODUCTION): (Decision.ADVANCE,),
    (Stage.PRODUCTION, Stage.SCALED): (Decision.ADVANCE,),
    (Stage.PRODUCTION, Stage.RETIRED): (Decision.ADVANCE, Decision.KILL),
    (Stage.SCALED, Stage.RETIRED): (Decision.ADVANCE, Decision.KILL),
    # Pivots: step back one stage to rethink the approach.
    (Stage.DISCOVERY, Stage.IDEA): (Decision.PIVOT,),
    (Stage.PILOT, Stage.DISCOVERY): (Decision.PIVOT,),
}
for _stage in ACTIVE_STAGES:
    FORWARD[(_stage, Stage.ON_HOLD)] = (Decision.PAUSE,)
    FORWARD[(_stage, Stage.CANCELLED)] = (Decision.KILL,)
FORWARD[(Stage.ON_HOLD, Stage.CANCELLED)] = (Decision.KILL,)


class IllegalMove(ValueError):
    """A stage move the rules do not allow; the message says why and what is allowed instead."""


def allowed_targets(current: str, paused_from: str | None = None) -> list[str]:
    """The stages an initiative in `current` may move to next."""
    targets = [to for (frm, to) in FORWARD if frm == current]
    if current == Stage.ON_HOLD and paused_from:
        targets.insert(0, paused_from)
    return targets


def check_move(current: str, target: str, decision: str | None, paused_from: str | None = None) -> str:
    """Validate a move and return the decision to record (the move's default when none is given)."""
    if target not in Stage.values:
        raise IllegalMove(f"'{target}' is not a stage. Stages: {', '.join(Stage.values)}.")
    if target == current:
        raise IllegalMove(f"The initiative is already in {Stage(current).label}.")
    if current == Stage.ON_HOLD and target != Stage.CANCELLED:
        if paused_from is None or target != paused_from:
            back = Stage(paused_from).label if paused_from else "its previous stage"
            raise IllegalMove(f"An initiative on hold can only resume to {back} or be cancelled.")
        decisions: tuple[str, ...] = (Decision.ADVANCE,)
    else:
        decisions = FORWARD.get((current, target), ())
    if not decisions:
        options = ", ".join(Stage(t).label for t in allowed_targets(current, paused_from)) or "none"
        raise IllegalMove(
            f"Cannot move from {Stage(current).label} to {Stage(target).label}. Allowed next stages: {options}."
        )
    if decision is None or decision == "":
        return decisions[0]
    if decision not in decisions:
        labels = ", ".join(Decision(d).label for d in decisions)
        raise IllegalMove(
            f"A move from {Stage(current).label} to {Stage(target).label} records the decision {labels}, "
            f"not '{decision}'."
        )
    return decision


def pilot_days(transitions: list[tuple[str, str, datetime]], now: datetime) -> float:
    """Total days spent in pilot, from (from_stage, to_stage, at) rows ordered by time."""
    total = 0.0
    entered: datetime | None = None
    for _from, to, at in transitions:
        if to == Stage.PILOT and entered is None:
            entered = at
        elif to != Stage.PILOT and entered is not None:
            total += (at - entered).total_seconds()
            entered = None
    if entered is not None:
        total += (now - entered).total_seconds()
    return total / 86400
