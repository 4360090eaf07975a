"""Rating: the rules of billing-rules §4 applied in order, for one site, one invoice, or a run.

This is the only place money is computed. Every function is pure: the same contract,
usage and ledger always give the same invoice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from .contract import Contract, Terms
from .invoice import Invoice, Line
from .ledger import BillingLedger
from .periods import Period
from .usage import UsageAggregate, UsageByPeriod

__all__ = ["SitePeriodRating", "rate_invoice", "rate_run", "rate_run_with_ledger", "rate_site_period"]


@dataclass(frozen=True)
class SitePeriodRating:
    """Steps 1–2 for one site and period: usage lines, the shortfall line, pre-cap components."""

    site: str
    period: Period
    terms: Terms
    lines: tuple[Line, ...]
    amounts: Mapping[str, Decimal] = field(default_factory=dict)
    """Billed usage amount per category (disabled categories are absent)."""
    shortfall: Decimal = Decimal(0)
    event_count: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "amounts", MappingProxyType(dict(self.amounts)))

    @property
    def pre_cap(self) -> Decimal:
        raise NotImplementedError


def rate_site_period(
    contract: Contract, site_id: str, period: Period, usage: Mapping[str, UsageAggregate]
) -> SitePeriodRating | None:
    """Rate steps 1–2 for one site and period from its usage by category.

    Returns None when the site cannot be billed for the period (unknown site, not active in
    the period, before the contract start, or no pricing in force): its usage is unbillable.
    Raises RatingError for usage in a category that has no rate.
    """
    raise NotImplementedError


def rate_invoice(
    contract: Contract,
    period: Period,
    usage: UsageByPeriod,
    ledger: BillingLedger,
    *,
    number: str = "",
    status: str = "draft",
    issue_date: date | None = None,
    due_date: date | None = None,
) -> Invoice:
    """Rate one tenant-period into an invoice.

    ``usage`` holds the tenant's usage of every period known so far: the invoiced period's
    usage is rated, and periods already in the ledger are re-rated to produce prior-period
    adjustments for late usage. The ledger supplies each site's contract-year billed so far.
    The caller records the invoice with ``record_invoice`` once it is issued.
    """
    raise NotImplementedError


def rate_run(
    contract: Contract,
    usage_by_period: UsageByPeriod,
    through: Period,
    ledger: BillingLedger | None = None,
    *,
    number_for: Callable[[Period, int], str] | None = None,
    status: str = "draft",
) -> list[Invoice]:
    """Rate every period from the contract start (or the earliest usage, if earlier) through
    ``through`` in order, recording each invoice before rating the next.

    Periods already in ``ledger`` are skipped (only re-rated for adjustments). ``number_for``
    receives the period and its 1-based position in the run; the default numbers invoices
    "<TENANT>-<YYYY-MM>".
    """
    raise NotImplementedError


def rate_run_with_ledger(
    contract: Contract,
    usage_by_period: UsageByPeriod,
    through: Period,
    ledger: BillingLedger | None = None,
) -> tuple[list[Invoice], BillingLedger]:
    """Like ``rate_run`` but also returns the ledger after the last invoice."""
    raise NotImplementedError
