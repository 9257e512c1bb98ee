"""API plumbing shared by every app: the exception handler that turns service errors into JSON per field."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

__all__ = ["PayloadTooLarge", "exception_handler", "validation_error_detail"]


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def validation_error_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ValidationError as {field: [messages]}; errors not tied to a field go under non_field_errors."""
    non_field_key = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(exc, "error_dict"):
        return {
            (non_field_key if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {non_field_key: list(exc.messages)}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus: service ValidationError -> 400 per field, bulk row errors -> 400 with `errors`,
    PermissionDenied -> 403 with the service's message, Http404 -> 404 {"detail": "Not found."}, an oversized
    body -> 413 as JSON (instead of Django's HTML 400)."""
    if isinstance(exc, DjangoValidationError):
        row_errors = getattr(exc, "row_errors", None)
        if row_errors is not None:
            # kpis.services.BulkValidationError: name each bad row and field; nothing was written.
            set_rollback()
            data = {"detail": exc.messages[0], "errors": [error.as_dict() for error in row_errors]}
            return Response(data, status=status.HTTP_400_BAD_REQUEST)
        exc = exceptions.ValidationError(validation_error_detail(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes."
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # A bare list of messages (e.g. `raise ValidationError("...")`) still gets a key, like every other error.
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response
