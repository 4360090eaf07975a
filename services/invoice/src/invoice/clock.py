"""The service's notion of now (UTC), injectable so tests can pin issue dates."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)
