"""A JSON parser for bulk writes, whose bodies legitimately exceed DATA_UPLOAD_MAX_MEMORY_SIZE."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from apps.core.api import PayloadTooLarge

# 10,000 rows with 500-character notes stay under this per row; the cap still bounds memory per request.
BYTES_PER_ROW = 1024


def bulk_body_limit() -> int:
    """Largest accepted bulk body in bytes: MEASUREMENT_BULK_MAX rows of BYTES_PER_ROW (10 MiB by default)."""
    return max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0, settings.MEASUREMENT_BULK_MAX * BYTES_PER_ROW)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


class BulkJSONParser(BaseParser):
    """JSON with its own size cap (bulk_body_limit) instead of DATA_UPLOAD_MAX_MEMORY_SIZE; decimals stay exact.

    DRF's JSONParser reads `request.body`, which Django caps at DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): too small
    for 10,000 measurements with notes. This parser reads the stream itself and enforces a cap sized for the
    endpoint.
    """

    media_type = "application/json"

    def parse(self, stream, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        limit = bulk_body_limit()
        request = (parser_context or {}).get("request")
        declared = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if declared > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit:,} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit:,} bytes.")
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(raw.decode(encoding), parse_float=Decimal, parse_constant=_reject_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
