"""Refusals the service reports to its callers, each with the reason and where it applies."""

from __future__ import annotations

from typing import Any


class RatingServiceError(Exception):
    """A request the service refuses; ``status`` is the HTTP status the API answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_data(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


class NotFound(RatingServiceError):
    status = 404
    code = "not_found"


class InvalidInput(RatingServiceError):
    """The request itself is malformed or fails validation."""

    status = 422
    code = "invalid"


class PeriodLocked(RatingServiceError):
    """The change would touch a period that is current, past or already invoiced."""

    status = 409
    code = "period_locked"


class EarlierPeriodOpen(PeriodLocked):
    """Periods close in order: an earlier period of the tenant is still open (named in ``open_period``)."""

    code = "earlier_period_open"


class Conflict(RatingServiceError):
    status = 409
    code = "conflict"
