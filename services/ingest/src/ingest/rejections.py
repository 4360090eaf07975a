"""Why an event cannot be used: machine-readable reasons shared by the DLQ headers and HTTP responses."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    NOT_JSON = "not_json"
    NOT_AN_OBJECT = "not_an_object"
    TOO_LARGE = "too_large"
    UNSUPPORTED_CONTENT_TYPE = "unsupported_content_type"
    MISSING_ATTRIBUTE = "missing_attribute"
    INVALID_ATTRIBUTE = "invalid_attribute"
    INVALID_TIME = "invalid_time"
    INVALID_DATA = "invalid_data"
    MISSING_FIELD = "missing_field"
    INVALID_QUANTITY = "invalid_quantity"
    UNCLASSIFIED = "unclassified"


class InvalidEvent(Exception):
    """Raised while decoding or checking one event; carries the reason and a detail naming the field."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail
