from __future__ import annotations

from rest_framework import serializers

from apps.core.models import Job


class JobOutputSerializer(serializers.ModelSerializer):
    """A background job and how far it got."""

    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    percent = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Whole-number progress; null while the total is unknown."
    )
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "kind", "status", "params", "progress_done", "progress_total", "percent", "is_finished", "message",
            "result", "error", "requested_by", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields
