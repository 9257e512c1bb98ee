"""Writes for readiness: record each initiative's scorecard when it changes (the score history)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.mlops.models import ReadinessSnapshot
from apps.mlops.selectors import readiness_candidates, readiness_compute

BATCH = 500


def readiness_record(*, initiative_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Compute the scorecards of the given initiatives (default: all with MLOps data or in production) and store a
    snapshot for each whose check results differ from its latest one; returns how many were stored."""
    now = now or timezone.now()
    ids = list(initiative_ids) if initiative_ids is not None else list(
        readiness_candidates().order_by("pk").values_list("pk", flat=True))
    written = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        cards = readiness_compute(initiative_ids=batch, now=now)
        latest = {
            snapshot.initiative_id: snapshot
            for snapshot in ReadinessSnapshot.objects.filter(initiative_id__in=batch)
            .order_by("initiative_id", "-computed_at", "-id").distinct("initiative_id")
        }
        new = []
        for initiative_id, card in cards.items():
            previous = latest.get(initiative_id)
            if previous is not None and [(c["code"], c["status"]) for c in previous.checks] == card.signature:
                continue
            new.append(ReadinessSnapshot(initiative_id=initiative_id, computed_at=now, score=card.score,
                                         passed=card.passed, applicable=card.applicable, checks=card.as_list()))
        with transaction.atomic():
            ReadinessSnapshot.objects.bulk_create(new)
        written += len(new)
    return written
