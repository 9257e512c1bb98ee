from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import BusinessUnit
from apps.accounts.selectors import business_unit_list, user_list_active


class BusinessUnitOutputSerializer(serializers.ModelSerializer):
    """A business unit, placed in the tree by its parent's slug."""

    parent = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    head = serializers.SlugRelatedField(slug_field="username", read_only=True)
    depth = serializers.IntegerField(read_only=True, help_text="0 for a top-level unit.")

    class Meta:
        model = BusinessUnit
        fields = ["id", "name", "slug", "parent", "head", "cost_centre", "depth", "created_at", "updated_at"]
        read_only_fields = fields


class BusinessUnitInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=64, required=False, allow_blank=True,
                                 help_text="Defaults to the name, slugified.")
    parent = serializers.SlugRelatedField(slug_field="slug", queryset=BusinessUnit.objects.none(), required=False,
                                          allow_null=True, help_text="Slug of the parent unit; omit for a top level.")
    head = serializers.SlugRelatedField(slug_field="username", queryset=user_list_active(), required=False,
                                        allow_null=True, help_text="Username of the unit's head.")
    cost_centre = serializers.CharField(max_length=32, required=False, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["parent"].queryset = business_unit_list(user=request.user)
