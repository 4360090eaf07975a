"""Billing periods (calendar months in the tenant's time zone) and contract years."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo

__all__ = ["ContractYear", "Period", "contract_year_of", "period_of"]

_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month; its instants depend on the tenant's time zone, its identity does not."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"invalid period {self.year:04d}-{self.month:02d}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse "YYYY-MM"; ValueError says what was wrong."""
        match = _PERIOD_RE.match(text)
        if match is None:
            raise ValueError(f"period {text!r} is not in YYYY-MM form")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of_date(cls, day: date) -> Period:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def start(self, tz: tzinfo | str = "UTC") -> datetime:
        """The first instant of the period, as an aware datetime in the tenant's zone."""
        return datetime(self.year, self.month, 1, tzinfo=_zone(tz))

    def end(self, tz: tzinfo | str = "UTC") -> datetime:
        """The first instant after the period (exclusive end)."""
        return self.next().start(tz)

    def contains(self, instant: datetime, tz: tzinfo | str = "UTC") -> bool:
        return period_of(instant, tz) == self

    def plus(self, months: int) -> Period:
        index = self.year * 12 + self.month - 1 + months
        return Period(index // 12, index % 12 + 1)

    def next(self) -> Period:
        return self.plus(1)

    def previous(self) -> Period:
        return self.plus(-1)

    def months_since(self, other: Period) -> int:
        """How many periods lie from ``other`` to this one (negative when this one is earlier)."""
        return (self.year - other.year) * 12 + self.month - other.month

    def days_within(self, active_from: date | None, active_until: date | None) -> int:
        """Days of this period inside the window [active_from, active_until) (None = unbounded)."""
        first = self.first_day
        after = self.next().first_day
        lo = max(first, active_from) if active_from is not None else first
        hi = min(after, active_until) if active_until is not None else after
        return max(0, (hi - lo).days)


def _zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def period_of(instant: datetime, tz: tzinfo | str = "UTC") -> Period:
    """The period containing an aware instant, judged on the tenant's local calendar."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"instant {instant.isoformat()} has no time zone")
    local = instant.astimezone(_zone(tz))
    return Period(local.year, local.month)


@dataclass(frozen=True, order=True)
class ContractYear:
    """Twelve periods starting at contract_start or one of its anniversaries."""

    start: Period
    index: int
    """1 for the year starting at contract_start; earlier years count down (0, -1, ...)."""

    @property
    def end(self) -> Period:
        """The first period after the year (exclusive)."""
        return self.start.plus(12)

    @property
    def last(self) -> Period:
        return self.start.plus(11)

    @property
    def label(self) -> str:
        """Stable text naming the year, e.g. "2026-07/2027-06"."""
        return f"{self.start}/{self.last}"

    @property
    def name(self) -> str:
        return f"contract year {self.index}"

    def periods(self) -> tuple[Period, ...]:
        return tuple(self.start.plus(i) for i in range(12))

    def contains(self, period: Period) -> bool:
        return self.start <= period < self.end

    @classmethod
    def from_label(cls, label: str, contract_start: date | None = None) -> ContractYear:
        """Rebuild a year from its label; the index is known only when contract_start is given."""
        first, sep, last = label.partition("/")
        start = Period.parse(first)
        if not sep or Period.parse(last) != start.plus(11):
            raise ValueError(f"contract year label {label!r} is not 'YYYY-MM/YYYY-MM' spanning twelve months")
        if contract_start is None:
            return cls(start, 0)
        return contract_year_of(contract_start, start)


def contract_year_of(contract_start: date, period: Period) -> ContractYear:
    """The contract year containing ``period`` (periods before contract_start get index <= 0)."""
    if contract_start.day != 1:
        raise ValueError(f"contract_start {contract_start.isoformat()} is not the 1st of a month")
    origin = Period.of_date(contract_start)
    offset = period.months_since(origin) // 12
    return ContractYear(origin.plus(12 * offset), offset + 1)
