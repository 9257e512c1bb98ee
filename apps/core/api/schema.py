"""OpenAPI pieces every endpoint shares: the error bodies and the documented error responses."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Body of 401, 403 and 404 responses."""

    detail = serializers.CharField(help_text="What went wrong, in a sentence.")


class ValidationErrorSerializer(serializers.Serializer):
    """Body of a 400: one list of messages per invalid field (plus the keys below)."""

    non_field_errors = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Messages not tied to one field."
    )
    detail = serializers.CharField(required=False, help_text="Set instead when the body could not be parsed.")


class ValidationErrorSerializerExtension(OpenApiSerializerExtension):
    """Document the per-field keys of ValidationErrorSerializer as additionalProperties."""

    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["additionalProperties"] = {
            "type": "array", "items": {"type": "string"}, "description": "Messages for the field of that name.",
        }
        return schema


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="1-based position of the row in the submitted list.")
    field = serializers.CharField(help_text="The field of that row that is wrong.")
    message = serializers.CharField()


class BulkErrorSerializer(serializers.Serializer):
    """Body of a 400 from a bulk write: nothing was written; every bad row and field is named."""

    detail = serializers.CharField()
    errors = RowErrorSerializer(many=True)


_DESCRIPTIONS = {
    400: "Invalid input: a list of messages per field.",
    401: "Missing, malformed, invalid, expired or revoked credentials (`Authorization: Token <key>` or a session).",
    403: "Authenticated, but not allowed to do this.",
    404: "No such object (or it is outside the business units you may see), or no such page of a list.",
    413: "The request body is too large.",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Documented error responses for the given HTTP status codes."""
    return {
        code: OpenApiResponse(
            response=ValidationErrorSerializer if code == 400 else ErrorSerializer, description=_DESCRIPTIONS[code]
        )
        for code in codes
    }


LIST_ERRORS = (401, 404)
FILTERED_LIST_ERRORS = (400, 401, 404)
DETAIL_ERRORS = (401, 404)
CREATE_ERRORS = (400, 401, 403)
UPDATE_ERRORS = (400, 401, 403, 404)
