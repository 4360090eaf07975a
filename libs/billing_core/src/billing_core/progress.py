"""How far a site is towards its monthly minimum and its annual cap, for running-charge views.

Both are read off a rated site section, so a dashboard shows the figures the invoice will bill;
they live here because every money figure of the platform is computed by this library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from .contract import Contract, terms_for
from .invoice import MINIMUM_SHORTFALL, USAGE, SiteSection
from .money import exact_add, prorate, round_amount
from .periods import Period

__all__ = [
    "CAP_PROJECTION_HORIZON_DAYS",
    "CapProjection",
    "MinimumProgress",
    "cap_projection",
    "minimum_progress",
]

CAP_PROJECTION_HORIZON_DAYS = 3650
"""Beyond ten years a projected cap date says nothing useful and is not given."""


@dataclass(frozen=True)
class MinimumProgress:
    """The minimum in force, what is due for the site's active days, and what counts so far."""

    minimum: Decimal
    due: Decimal
    eligible: Decimal
    shortfall: Decimal

    @property
    def met(self) -> bool:
        return self.eligible >= self.due


@dataclass(frozen=True)
class CapProjection:
    """Whether the annual cap is reached, and if not, the day it would be at this period's pace.

    ``billed_usage`` is the pace's numerator: the billed usage of the period so far.
    """

    remaining: Decimal
    billed_usage: Decimal
    reached: bool
    date: date | None


def minimum_progress(contract: Contract, section: SiteSection, period: Period) -> MinimumProgress | None:
    """None when no minimum is in force for the site in ``period``.

    Eligible are the billed usage lines of counting categories, so disabled and non-counting
    categories never count, exactly as in the shortfall line.
    """
    terms = terms_for(contract, section.site, period)
    site = contract.site(section.site)
    if terms is None or terms.minimum is None or site is None:
        return None
    money = contract.money
    minimum = terms.minimum
    eligible = exact_add(
        money.zero(),
        *(
            line.amount
            for line in section.lines
            if line.kind == USAGE
            and line.billed
            and line.category is not None
            and minimum.counts(line.category)
        ),
    )
    return MinimumProgress(
        minimum=round_amount(minimum.amount, money),
        due=prorate(minimum.amount, site.active_days(period), period.days, money),
        eligible=eligible,
        shortfall=section.amount_of(MINIMUM_SHORTFALL),
    )


def cap_projection(
    contract: Contract, section: SiteSection, period: Period, now: datetime
) -> CapProjection | None:
    """None when no cap is in force; the date only while ``period`` is open at ``now``.

    The pace is the period's billed usage divided by the time elapsed in it; no date is given
    without usage yet or when the cap is more than ten years away at that pace.
    """
    remaining = section.cap_remaining
    if remaining is None:
        return None
    billed_usage = exact_add(
        contract.money.zero(), *(line.amount for line in section.lines if line.kind == USAGE and line.billed)
    )
    if remaining <= 0:
        return CapProjection(remaining, billed_usage, reached=True, date=None)
    start = period.start(contract.timezone)
    elapsed = now - start
    elapsed_seconds = elapsed.days * 86400 + elapsed.seconds
    if now >= period.end(contract.timezone) or elapsed_seconds <= 0 or billed_usage <= 0:
        return CapProjection(remaining, billed_usage, reached=False, date=None)
    seconds = remaining * elapsed_seconds / billed_usage
    if seconds > CAP_PROJECTION_HORIZON_DAYS * 86400:
        return CapProjection(remaining, billed_usage, reached=False, date=None)
    when = now + timedelta(seconds=int(seconds))
    return CapProjection(remaining, billed_usage, reached=False, date=when.astimezone(start.tzinfo).date())
