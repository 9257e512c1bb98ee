from rest_framework import serializers

from apps.audit.models import AuditEvent


class AuditEventOutputSerializer(serializers.ModelSerializer):
    """One event of the trail, with its place in the hash chain."""

    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "kind", "action", "table_name", "object_pk", "before", "after", "detail",
                  "actor_id", "request_id", "ip", "initiative_id", "business_unit_id", "prev_hash", "hash"]
        read_only_fields = fields
