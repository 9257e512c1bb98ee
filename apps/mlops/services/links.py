"""Writes for initiative ↔ MLflow links: explicit links, and the resolution that applies them and the tags.

Which initiative a synced object belongs to, most specific first:
- experiment: an explicit link, else its tag `pilotlight.initiative`;
- run: its own tag, else its experiment's initiative;
- registered model: an explicit link, else its tag;
- LoggedModel: its tag, else its source run's initiative, else its experiment's.
Tag values match initiative keys case-insensitively. Resolution is a few set-based UPDATEs that touch only rows
whose initiative actually changes, so a sync with nothing new writes nothing here either.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from apps.core.access import can
from apps.mlops.choices import LinkKind
from apps.mlops.models import Experiment, MLflowConnection, ModelLink
from apps.portfolio.models import Initiative

TAG = "pilotlight.initiative"

_TAG_KEY = f"upper(btrim({{alias}}.tags ->> '{TAG}'))"

_RESOLVE_EXPERIMENTS = f"""
WITH target AS (
    SELECT e.id,
           COALESCE(l.initiative_id, ti.id) AS initiative_id,
           CASE WHEN l.initiative_id IS NOT NULL THEN 'explicit' WHEN ti.id IS NOT NULL THEN 'tag' ELSE '' END AS src
    FROM mlops_experiment e
    LEFT JOIN mlops_modellink l ON l.connection_id = e.connection_id AND l.kind = 'experiment'
                               AND l.target = e.experiment_id
    LEFT JOIN portfolio_initiative ti ON ti.key = {_TAG_KEY.format(alias="e")}
    WHERE e.connection_id = %(connection)s
)
UPDATE mlops_experiment e SET initiative_id = t.initiative_id, link_source = t.src
FROM target t
WHERE e.id = t.id AND (e.initiative_id IS DISTINCT FROM t.initiative_id OR e.link_source <> t.src)
"""

_RESOLVE_RUNS = f"""
WITH target AS (
    SELECT r.id,
           COALESCE(ti.id, e.initiative_id) AS initiative_id,
           CASE WHEN ti.id IS NOT NULL THEN 'tag' WHEN e.initiative_id IS NOT NULL THEN 'experiment' ELSE '' END AS src
    FROM mlops_run r
    JOIN mlops_experiment e ON e.id = r.experiment_id
    LEFT JOIN portfolio_initiative ti ON ti.key = {_TAG_KEY.format(alias="r")}
    WHERE r.connection_id = %(connection)s
)
UPDATE mlops_run r SET initiative_id = t.initiative_id, link_source = t.src
FROM target t
WHERE r.id = t.id AND (r.initiative_id IS DISTINCT FROM t.initiative_id OR r.link_source <> t.src)
"""

_RESOLVE_MODELS = f"""
WITH target AS (
    SELECT m.id,
           COALESCE(l.initiative_id, ti.id) AS initiative_id,
           CASE WHEN l.initiative_id IS NOT NULL THEN 'explicit' WHEN ti.id IS NOT NULL THEN 'tag' ELSE '' END AS src
    FROM mlops_registeredmodel m
    LEFT JOIN mlops_modellink l ON l.connection_id = m.connection_id AND l.kind = 'registered_model'
                               AND l.target = m.name
    LEFT JOIN portfolio_initiative ti ON ti.key = {_TAG_KEY.format(alias="m")}
    WHERE m.connection_id = %(connection)s
)
UPDATE mlops_registeredmodel m SET initiative_id = t.initiative_id, link_source = t.src
FROM target t
WHERE m.id = t.id AND (m.initiative_id IS DISTINCT FROM t.initiative_id OR m.link_source <> t.src)
"""

_RESOLVE_LOGGED_MODELS = f"""
WITH target AS (
    SELECT lm.id,
           COALESCE(ti.id, r.initiative_id, e.initiative_id) AS initiative_id,
           CASE WHEN ti.id IS NOT NULL THEN 'tag' WHEN r.initiative_id IS NOT NULL THEN 'run'
                WHEN e.initiative_id IS NOT NULL THEN 'experiment' ELSE '' END AS src
    FROM mlops_loggedmodel lm
    LEFT JOIN portfolio_initiative ti ON ti.key = {_TAG_KEY.format(alias="lm")}
    LEFT JOIN mlops_run r ON r.connection_id = lm.connection_id AND r.run_id = lm.source_run_id
    LEFT JOIN mlops_experiment e ON e.connection_id = lm.connection_id AND e.experiment_id = lm.experiment_id
    WHERE lm.connection_id = %(connection)s
)
UPDATE mlops_loggedmodel lm SET initiative_id = t.initiative_id, link_source = t.src
FROM target t
WHERE lm.id = t.id AND (lm.initiative_id IS DISTINCT FROM t.initiative_id OR lm.link_source <> t.src)
"""


def links_resolve(*, connection_id: int | None = None) -> int:
    """Re-resolve which initiative each synced object of a connection (or of all) belongs to; returns rows changed.

    Runs after every sync and after a link is added or removed; experiments first, since runs inherit theirs."""
    ids = [connection_id] if connection_id is not None else list(
        MLflowConnection.objects.values_list("pk", flat=True))
    changed = 0
    with connection.cursor() as cursor:
        for conn_id in ids:
            for sql in (_RESOLVE_EXPERIMENTS, _RESOLVE_RUNS, _RESOLVE_MODELS, _RESOLVE_LOGGED_MODELS):
                cursor.execute(sql, {"connection": conn_id})
                changed += max(cursor.rowcount, 0)
    return changed


def _require_change(actor, initiative: Initiative) -> None:
    if not can(actor, initiative, "change"):
        raise PermissionDenied("Only the initiative's owner, a lead of its business unit or a portfolio admin can "
                               "change its model links.")


@transaction.atomic
def model_link_create(*, actor, initiative: Initiative, connection: MLflowConnection, kind: str,
                      target: str) -> ModelLink:
    """Link an experiment (by id or name) or a registered model (by name) to an initiative, and apply it at once."""
    _require_change(actor, initiative)
    if kind not in LinkKind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(LinkKind.values)}."})
    target = (target or "").strip()
    if not target:
        raise ValidationError({"target": "Name the experiment (id or name) or the registered model."})
    if kind == LinkKind.EXPERIMENT:
        # Experiments are linked by id (names can be reused); accept a synced experiment's name for convenience.
        by_name = Experiment.objects.filter(connection=connection, name=target).values_list("experiment_id",
                                                                                           flat=True).first()
        if by_name is not None and not Experiment.objects.filter(connection=connection,
                                                                 experiment_id=target).exists():
            target = by_name
    existing = ModelLink.objects.filter(connection=connection, kind=kind, target=target).select_related(
        "initiative").first()
    if existing is not None:
        label = "experiment" if kind == LinkKind.EXPERIMENT else "registered model"
        if existing.initiative_id == initiative.pk:
            raise ValidationError({"target": f"This {label} is already linked to {initiative.key}."})
        raise ValidationError({"target": f"This {label} is already linked to {existing.initiative.key}; "
                                         "remove that link first."})
    try:
        with transaction.atomic():
            link = ModelLink.objects.create(connection=connection, kind=kind, target=target[:500],
                                            initiative=initiative, created_by=actor)
    except IntegrityError as exc:
        raise ValidationError({"target": "This object was linked by someone else a moment ago."}) from exc
    links_resolve(connection_id=connection.pk)
    return link


@transaction.atomic
def model_link_delete(*, actor, link: ModelLink) -> None:
    """Remove an explicit link; tags (if any) take over again at once."""
    _require_change(actor, link.initiative)
    connection_id = link.connection_id
    link.delete()
    links_resolve(connection_id=connection_id)
