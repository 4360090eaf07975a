"""The invoice model: lines, site sections, unbillable usage and derived totals.

Totals are derived from the lines rather than stored, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal, NamedTuple, Protocol

from .money import exact_add, exact_sum
from .periods import Period

__all__ = [
    "CAP_CREDIT",
    "LINE_KINDS",
    "MINIMUM_SHORTFALL",
    "PRIOR_PERIOD_ADJUSTMENT",
    "USAGE",
    "Invoice",
    "Line",
    "LineKind",
    "SiteSection",
    "UnbillableUsage",
]

LineKind = Literal["usage", "minimum_shortfall", "cap_credit", "prior_period_adjustment"]
USAGE: LineKind = "usage"
MINIMUM_SHORTFALL: LineKind = "minimum_shortfall"
CAP_CREDIT: LineKind = "cap_credit"
PRIOR_PERIOD_ADJUSTMENT: LineKind = "prior_period_adjustment"
LINE_KINDS: tuple[LineKind, ...] = (USAGE, MINIMUM_SHORTFALL, PRIOR_PERIOD_ADJUSTMENT, CAP_CREDIT)


# The value types below write their own __init__: a generated frozen one stores each field
# through object.__setattr__, which was most of the cost of rating a large tenant.


class Line(NamedTuple):
    """One invoice line. Adjustment lines name the period they correct and its contract year;
    cap credit lines name the contract year they cap. A shortfall adjustment has no category.

    A named tuple: immutable, and built by one C call, which matters at one line per site,
    category and period of a large tenant's year.
    """

    kind: LineKind
    amount: Decimal
    billed: bool
    explanation: str
    category: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    period: Period | None = None
    contract_year: str | None = None


@dataclass(frozen=True, init=False)
class SiteSection:
    """A site's part of an invoice with its contract-year position after this invoice."""

    site: str
    lines: tuple[Line, ...]
    contract_year: str
    """Label of the contract year of the invoiced period, e.g. "2026-01/2026-12"."""
    billed_to_date: Decimal
    cap_remaining: Decimal | None
    name: str = ""

    def __init__(
        self,
        site: str,
        lines: tuple[Line, ...],
        contract_year: str,
        billed_to_date: Decimal,
        cap_remaining: Decimal | None,
        name: str = "",
    ) -> None:
        fields = self.__dict__
        fields["site"] = site
        fields["lines"] = lines
        fields["contract_year"] = contract_year
        fields["billed_to_date"] = billed_to_date
        fields["cap_remaining"] = cap_remaining
        fields["name"] = name

    @property
    def total(self) -> Decimal:
        total = _ZERO
        for line in self.lines:
            if line.billed:
                total = exact_sum(total, line.amount)
        return total

    def amount_of(self, kind: LineKind) -> Decimal:
        total = _ZERO
        for line in self.lines:
            if line.billed and line.kind == kind:
                total = exact_sum(total, line.amount)
        return total


_ZERO = Decimal(0)


@dataclass(frozen=True, init=False)
class UnbillableUsage:
    """Usage that was metered but could not be priced, kept visible rather than dropped."""

    site: str
    category: str
    period: Period
    quantity: Decimal
    events: int
    reason: str

    def __init__(
        self, site: str, category: str, period: Period, quantity: Decimal, events: int, reason: str
    ) -> None:
        fields = self.__dict__
        fields["site"] = site
        fields["category"] = category
        fields["period"] = period
        fields["quantity"] = quantity
        fields["events"] = events
        fields["reason"] = reason


class _TotalledLine(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def billed(self) -> bool: ...


class _TotalledSite(Protocol):
    @property
    def site(self) -> str: ...
    @property
    def total(self) -> Decimal: ...
    @property
    def lines(self) -> Sequence[_TotalledLine]: ...


class DocumentTotals:
    """The totals of a document made of site sections. Invoices and credit notes share them so
    that both add up by one rule."""

    sites: Sequence[_TotalledSite]

    @property
    def total(self) -> Decimal:
        return exact_add(*(site.total for site in self.sites))

    def amount_of(self, kind: str) -> Decimal:
        return exact_add(
            *(line.amount for site in self.sites for line in site.lines if line.billed and line.kind == kind)
        )

    def category_totals(self) -> dict[str, Decimal]:
        """Billed usage amounts per category (adjustments excluded; unbilled lines count as zero)."""
        totals: dict[str, Decimal] = {}
        for site in self.sites:
            for line in site.lines:
                if line.kind == USAGE and line.category is not None:
                    amount = line.amount if line.billed else Decimal(0)
                    totals[line.category] = exact_add(totals.get(line.category, Decimal(0)), amount)
        return dict(sorted(totals.items()))

    @property
    def line_count(self) -> int:
        return sum(len(site.lines) for site in self.sites)


@dataclass(frozen=True)
class Invoice(DocumentTotals):
    """One tenant's invoice for one period. Number, status and dates are assigned by the caller."""

    number: str
    tenant: str
    period: Period
    currency: str
    sites: tuple[SiteSection, ...]
    status: str = "draft"
    issue_date: date | None = None
    due_date: date | None = None
    unbillable: tuple[UnbillableUsage, ...] = ()
    event_count: int = 0
    """Distinct events of the invoiced period on usage lines (billed or disabled)."""
    contract_year: str = ""
