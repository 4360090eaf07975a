"""What has been billed so far, per site: the state carried from one invoice to the next.

The ledger is a value: ``record_invoice`` returns a new ledger and never changes its input,
so a service can rebuild it from stored issued invoices and a run can branch from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from .invoice import CAP_CREDIT, MINIMUM_SHORTFALL, PRIOR_PERIOD_ADJUSTMENT, Invoice
from .money import exact_add, exact_sum
from .periods import ContractYear, Period

__all__ = ["BillingLedger", "PeriodCharges", "record_invoice"]


@dataclass(frozen=True)
class PeriodCharges:
    """Pre-cap amounts billed for one site and period, including later adjustments."""

    amounts: Mapping[str, Decimal] = field(default_factory=dict)
    """Billed usage amount per category."""
    shortfall: Decimal = Decimal(0)
    quantities: Mapping[str, Decimal] = field(default_factory=dict)
    """Quantity behind each billed category amount."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "amounts", MappingProxyType(dict(self.amounts)))
        object.__setattr__(self, "quantities", MappingProxyType(dict(self.quantities)))

    @property
    def pre_cap(self) -> Decimal:
        return exact_add(self.shortfall, *self.amounts.values())


@dataclass(frozen=True)
class BillingLedger:
    """Issued invoices' effect: invoiced periods, pre-cap charges, and billed amounts per
    (site, contract year) with every amount attributed to the year of the period it belongs to."""

    invoiced: Mapping[Period, str] = field(default_factory=dict)
    """Invoiced period -> invoice number."""
    charges: Mapping[tuple[str, Period], PeriodCharges] = field(default_factory=dict)
    """(site, period) -> pre-cap charges billed for that period so far."""
    billed: Mapping[tuple[str, Period], Decimal] = field(default_factory=dict)
    """(site, contract-year start period) -> net amount billed for that year, cap credits included."""
    unbillable: Mapping[tuple[str, str, Period], Decimal] = field(default_factory=dict)
    """(site, category, period) -> quantity already reported as unbillable."""

    def __post_init__(self) -> None:
        for name in ("invoiced", "charges", "billed", "unbillable"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def is_invoiced(self, period: Period) -> bool:
        return period in self.invoiced

    def charges_for(self, site: str, period: Period) -> PeriodCharges:
        return self.charges.get((site, period), PeriodCharges())

    def billed_so_far(self, site: str, year: ContractYear) -> Decimal:
        return self.billed.get((site, year.start), Decimal(0))

    def reported_unbillable(self, site: str, category: str, period: Period) -> Decimal:
        return self.unbillable.get((site, category, period), Decimal(0))


def _year_start(label: str | None, where: str) -> Period:
    if not label:
        raise ValueError(f"{where} names no contract year")
    return ContractYear.from_label(label).start


def record_invoice(ledger: BillingLedger, invoice: Invoice) -> BillingLedger:
    """Return a new ledger that includes an issued invoice; refuses a period invoiced twice.

    Each billed amount counts towards the contract year of the period it belongs to: usage
    and shortfall to the invoiced period's year, an adjustment to its period's year, a cap
    credit to the year it names.
    """
    if invoice.period in ledger.invoiced:
        raise ValueError(
            f"period {invoice.period} is already invoiced ({ledger.invoiced[invoice.period]}); "
            f"cannot record {invoice.number}"
        )
    charges = dict(ledger.charges)
    billed = dict(ledger.billed)
    unbillable = dict(ledger.unbillable)
    # Touched charges are accumulated in plain dicts and frozen once at the end.
    amounts: dict[tuple[str, Period], dict[str, Decimal]] = {}
    quantities: dict[tuple[str, Period], dict[str, Decimal]] = {}
    shortfalls: dict[tuple[str, Period], Decimal] = {}

    zero = Decimal(0)

    def add(table: dict[Any, Decimal], key: Any, amount: Decimal) -> None:
        table[key] = exact_sum(table.get(key, zero), amount)

    years: dict[str | None, Period] = {}

    def year_of(label: str | None, where: str) -> Period:
        if label not in years:
            years[label] = _year_start(label, where)
        return years[label]

    for section in invoice.sites:
        where = f"invoice {invoice.number} site {section.site}"
        own_year = year_of(section.contract_year, where)
        by_year: dict[Period, list[Decimal]] = {}
        for line in section.lines:
            if not line.billed:
                continue
            if line.kind == CAP_CREDIT:
                by_year.setdefault(year_of(line.contract_year, f"{where} cap credit"), []).append(line.amount)
                continue
            period, year = invoice.period, own_year
            if line.kind == PRIOR_PERIOD_ADJUSTMENT:
                if line.period is None:
                    raise ValueError(f"{where}: adjustment line names no period")
                period, year = line.period, year_of(line.contract_year, f"{where} adjustment")
            key = (section.site, period)
            if key not in amounts:
                previous = charges.get(key, PeriodCharges())
                amounts[key] = dict(previous.amounts)
                quantities[key] = dict(previous.quantities)
                shortfalls[key] = previous.shortfall
            category = None if line.kind == MINIMUM_SHORTFALL else line.category
            if category is None:
                add(shortfalls, key, line.amount)
            else:
                add(amounts[key], category, line.amount)
                if line.quantity is not None:
                    add(quantities[key], category, line.quantity)
            by_year.setdefault(year, []).append(line.amount)
        for year, year_amounts in by_year.items():
            add(billed, (section.site, year), exact_add(*year_amounts))
    for key in amounts:
        charges[key] = PeriodCharges(amounts[key], shortfalls[key], quantities[key])
    for item in invoice.unbillable:
        add(unbillable, (item.site, item.category, item.period), item.quantity)
    return BillingLedger(
        invoiced={**ledger.invoiced, invoice.period: invoice.number},
        charges=charges,
        billed=billed,
        unbillable=unbillable,
    )
