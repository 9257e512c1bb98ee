from __future__ import annotations

from django.db import models

from apps.audit.choices import EventKind


class AuditEvent(models.Model):
    """One append-only, hash-chained entry of the audit trail.

    Data events are written by PostgreSQL triggers on every governed table (so bulk writes and raw SQL are
    captured); security events by apps.audit.services. A BEFORE INSERT trigger stamps `seq`, `prev_hash`,
    `occurred_at` and `hash` under an advisory lock, and other triggers refuse UPDATE, DELETE and TRUNCATE.
    """

    seq = models.BigIntegerField(unique=True, default=0, editable=False)
    occurred_at = models.DateTimeField(null=True, editable=False)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    action = models.CharField(max_length=32)
    table_name = models.CharField(max_length=63, blank=True)
    object_pk = models.CharField(max_length=64, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.JSONField(null=True, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    initiative_id = models.BigIntegerField(null=True, blank=True)
    business_unit_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64, editable=False, default="")
    hash = models.CharField(max_length=64, editable=False, default="")

    scope_unit_field = "business_unit"
    scope_owner_fields: tuple[str, ...] = ()
    scope_initiative_field = "initiative_id"

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["initiative_id", "-seq"], name="audit_initiative_seq"),
            models.Index(fields=["table_name", "object_pk"], name="audit_table_object"),
            models.Index(fields=["kind", "action"], name="audit_kind_action"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}:{self.action} {self.table_name} {self.object_pk}"

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for the fields that differ; every field on insert and delete."""
        before, after = self.before or {}, self.after or {}
        keys = sorted(set(before) | set(after))
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)
                and k not in ("updated_at",)]
