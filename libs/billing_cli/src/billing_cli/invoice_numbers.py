"""Invoice numbers of an offline run.

Offline invoices never reach a customer, so they must not look like (or collide
with) the platform's numbers: they carry a prefix (``RUN-`` by default), the year
of the invoiced period, and a six-digit sequence that restarts at 1 for each year
within one run: ``RUN-2026-000001`` is the run's first 2026 invoice.
"""

from __future__ import annotations

from billing_core import Period

__all__ = ["DEFAULT_PREFIX", "RunNumbering"]

DEFAULT_PREFIX = "RUN-"


class RunNumbering:
    """Hands out numbers in rating order; the same run always yields the same numbers."""

    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self._prefix = prefix
        self._issued_per_year: dict[int, int] = {}

    def next_for(self, period: Period) -> str:
        sequence = self._issued_per_year.get(period.year, 0) + 1
        self._issued_per_year[period.year] = sequence
        return f"{self._prefix}{period.year:04d}-{sequence:06d}"
