"""What has been billed so far, per site: the state carried from one invoice to the next.

The ledger is a value: ``record_invoice`` returns a new ledger and never changes its input,
so a service can rebuild it from stored issued invoices and a run can branch from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from .invoice import Invoice
from .periods import ContractYear, Period

__all__ = ["BillingLedger", "PeriodCharges", "record_invoice"]


@dataclass(frozen=True)
class PeriodCharges:
    """Pre-cap amounts billed for one site and period, including later adjustments."""

    amounts: Mapping[str, Decimal] = field(default_factory=dict)
    """Billed usage amount per category."""
    shortfall: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amounts", MappingProxyType(dict(self.amounts)))

    @property
    def pre_cap(self) -> Decimal:
        raise NotImplementedError


@dataclass(frozen=True)
class BillingLedger:
    """Issued invoices' effect: invoiced periods, pre-cap charges, and billed amounts per
    (site, contract year) with every amount attributed to the year of the period it belongs to."""

    invoiced: Mapping[Period, str] = field(default_factory=dict)
    """Invoiced period -> invoice number."""
    charges: Mapping[tuple[str, Period], PeriodCharges] = field(default_factory=dict)
    billed: Mapping[tuple[str, Period], Decimal] = field(default_factory=dict)
    """(site, contract-year start period) -> net amount billed for that year."""

    def is_invoiced(self, period: Period) -> bool:
        return period in self.invoiced

    def charges_for(self, site: str, period: Period) -> PeriodCharges:
        return self.charges.get((site, period), PeriodCharges())

    def billed_so_far(self, site: str, year: ContractYear) -> Decimal:
        return self.billed.get((site, year.start), Decimal(0))


def record_invoice(ledger: BillingLedger, invoice: Invoice) -> BillingLedger:
    """Return a new ledger that includes an issued invoice; refuses a period invoiced twice."""
    raise NotImplementedError
