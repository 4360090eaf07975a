"""What has been billed so far, per site: the state carried from one invoice to the next.

The ledger is a value: ``record_invoice`` returns a new ledger and never changes its input,
so a service can rebuild it from stored issued invoices and a run can branch from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple, Union

from .invoice import CAP_CREDIT, MINIMUM_SHORTFALL, PRIOR_PERIOD_ADJUSTMENT, Invoice
from .money import exact_add, exact_sum
from .periods import ContractYear, Period

LedgerView = Union["BillingLedger", "LedgerBuilder"]
"""What rating reads billed-to-date from: an issued ledger or one being built by a run."""

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


_NO_CHARGES = PeriodCharges()


class RatedCharges(NamedTuple):
    """What a site's own-period lines bill, as rating computed them, so that recording an
    invoice of a run need not walk its lines again. Only for a section whose lines are the
    site's own usage and shortfall lines and at most a cap credit of the same contract year.

    Read-only views (``MappingProxyType``) of dicts that nothing changes any more are kept by
    the ledger as they are; other mappings are copied."""

    amounts: Mapping[str, Decimal]
    """Billed usage amount per category."""
    quantities: Mapping[str, Decimal]
    """Quantity behind each billed usage amount."""
    shortfall: Decimal | None
    """The shortfall line's amount, None when there is none."""
    billed: Decimal
    """Sum of the section's billed lines (all of them count towards the period's contract year)."""
    billed_any: bool
    """Whether the section has a billed line at all."""


def _charges_owning(
    amounts: dict[str, Decimal], shortfall: Decimal, quantities: dict[str, Decimal]
) -> PeriodCharges:
    """PeriodCharges over dicts nobody else holds, without the defensive copies."""
    return _charges_of(MappingProxyType(amounts), shortfall, MappingProxyType(quantities))


def _charges_of(
    amounts: Mapping[str, Decimal], shortfall: Decimal, quantities: Mapping[str, Decimal]
) -> PeriodCharges:
    """PeriodCharges holding the given read-only mappings themselves."""
    charges = object.__new__(PeriodCharges)
    fields = charges.__dict__
    fields["amounts"] = amounts
    fields["shortfall"] = shortfall
    fields["quantities"] = quantities
    return charges


def _read_only(mapping: Mapping[str, Decimal]) -> Mapping[str, Decimal]:
    """The mapping itself when it is a read-only view, else a read-only copy."""
    return mapping if type(mapping) is MappingProxyType else MappingProxyType(dict(mapping))


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
        return self.charges.get((site, period), _NO_CHARGES)

    def billed_so_far(self, site: str, year: ContractYear) -> Decimal:
        return self.billed.get((site, year.start), _ZERO)

    def reported_unbillable(self, site: str, category: str, period: Period) -> Decimal:
        return self.unbillable.get((site, category, period), _ZERO)


_ZERO = Decimal(0)


class LedgerBuilder:
    """A ledger being extended invoice by invoice, read like a BillingLedger in between.

    ``record_invoice`` copies a ledger once per invoice to stay pure; a run that records
    invoice after invoice extends one builder instead and freezes it once at the end.
    """

    def __init__(self, ledger: BillingLedger) -> None:
        self.invoiced: dict[Period, str] = dict(ledger.invoiced)
        self.charges: dict[tuple[str, Period], PeriodCharges] = dict(ledger.charges)
        self.billed: dict[tuple[str, Period], Decimal] = dict(ledger.billed)
        self.unbillable: dict[tuple[str, str, Period], Decimal] = dict(ledger.unbillable)
        self._frozen = False
        # Contract year label -> start period, kept across invoices so that equal keys are
        # the same Period object and dict lookups need no Period.__eq__.
        self._starts: dict[str | None, Period] = {}

    def is_invoiced(self, period: Period) -> bool:
        return period in self.invoiced

    def charges_for(self, site: str, period: Period) -> PeriodCharges:
        return self.charges.get((site, period), _NO_CHARGES)

    def billed_so_far(self, site: str, year: ContractYear) -> Decimal:
        return self.billed.get((site, year.start), _ZERO)

    def reported_unbillable(self, site: str, category: str, period: Period) -> Decimal:
        return self.unbillable.get((site, category, period), _ZERO)

    def freeze(self) -> BillingLedger:
        """The ledger built so far; the builder hands its tables over and cannot be used again."""
        if self._frozen:
            raise RuntimeError("ledger builder already frozen")
        self._frozen = True
        ledger = object.__new__(BillingLedger)
        fields = ledger.__dict__
        fields["invoiced"] = MappingProxyType(self.invoiced)
        fields["charges"] = MappingProxyType(self.charges)
        fields["billed"] = MappingProxyType(self.billed)
        fields["unbillable"] = MappingProxyType(self.unbillable)
        return ledger

    def record(self, invoice: Invoice, rated: Mapping[str, RatedCharges] | None = None) -> None:
        """Add an issued invoice (see ``record_invoice``); refuses a period invoiced twice.

        ``rated`` holds, for some sites, the charges rating computed for their sections (see
        ``RatedCharges``); the lines of those sections are then only summed, not walked by kind.
        A refused invoice may leave part of itself behind: discard the builder after an error.
        """
        if self._frozen:
            raise RuntimeError("ledger builder already frozen")
        if invoice.period in self.invoiced:
            raise ValueError(
                f"period {invoice.period} is already invoiced ({self.invoiced[invoice.period]}); "
                f"cannot record {invoice.number}"
            )
        charges, billed, add = self.charges, self.billed, exact_sum
        # Charges touched by this invoice, accumulated in plain dicts and frozen once at the end:
        # (amounts by category, quantities by category, [shortfall]).
        touched: dict[tuple[str, Period], tuple[dict[str, Decimal], dict[str, Decimal], list[Decimal]]] = {}
        starts = self._starts

        def year_start(label: str | None, site: str, what: str) -> Period:
            start = starts.get(label)
            if start is None:
                start = starts[label] = _year_start(label, f"invoice {invoice.number} site {site}{what}")
            return start

        for section in invoice.sites:
            site = section.site
            own_label = section.contract_year
            if own_label not in starts:
                year_start(own_label, site, "")
            summary = rated.get(site) if rated is not None else None
            if summary is not None:
                self._record_rated(site, invoice.period, starts[own_label], summary)
                continue
            # Billed amounts per contract year label, in order of first appearance (labels and
            # year starts correspond one to one); the invoiced period's own year is summed in
            # own_sum, the usual case, and placed in by_year at the end.
            by_year: dict[str | None, Decimal] = {}
            own_sum: Decimal | None = None
            own: tuple[dict[str, Decimal], dict[str, Decimal], list[Decimal]] | None = None
            for line in section.lines:
                if not line.billed:
                    continue
                kind = line.kind
                amount = line.amount
                if kind == CAP_CREDIT:
                    label = line.contract_year
                    year_start(label, site, " cap credit")
                else:
                    if kind == PRIOR_PERIOD_ADJUSTMENT:
                        if line.period is None:
                            where = f"invoice {invoice.number} site {site}"
                            raise ValueError(f"{where}: adjustment line names no period")
                        label = line.contract_year
                        year_start(label, site, " adjustment")
                        entry = self._touch(touched, (site, line.period))
                    else:
                        label = own_label
                        if own is None:
                            own = self._touch(touched, (site, invoice.period))
                        entry = own
                    category = None if kind == MINIMUM_SHORTFALL else line.category
                    if category is None:
                        entry[2][0] = add(entry[2][0], amount)
                    else:
                        amounts = entry[0]
                        amounts[category] = add(amounts.get(category, _ZERO), amount)
                        quantity = line.quantity
                        if quantity is not None:
                            quantities = entry[1]
                            quantities[category] = add(quantities.get(category, _ZERO), quantity)
                if label == own_label:
                    if own_sum is None:
                        own_sum = by_year[own_label] = _ZERO
                    own_sum = add(own_sum, amount)
                else:
                    by_year[label] = add(by_year.get(label, _ZERO), amount)
            if own_sum is not None:
                by_year[own_label] = own_sum
            for label, year_sum in by_year.items():
                key = (site, starts[label])
                billed[key] = add(billed.get(key, _ZERO), year_sum)
        for key, (amounts, quantities, shortfall) in touched.items():
            charges[key] = _charges_owning(amounts, shortfall[0], quantities)
        unbillable = self.unbillable
        for item in invoice.unbillable:
            key3 = (item.site, item.category, item.period)
            unbillable[key3] = add(unbillable.get(key3, _ZERO), item.quantity)
        self.invoiced[invoice.period] = invoice.number

    def _record_rated(self, site: str, period: Period, year: Period, summary: RatedCharges) -> None:
        """The entries the line walk makes for such a section, taken from rating's own figures
        (equal in value: the same exact sums, possibly with other trailing zeros)."""
        if not summary.billed_any:
            return
        key = (site, period)
        add = exact_sum
        if summary.amounts or summary.shortfall is not None:
            shortfall = _ZERO if summary.shortfall is None else summary.shortfall
            rated = _charges_of(_read_only(summary.amounts), shortfall, _read_only(summary.quantities))
            previous = self.charges.setdefault(key, rated)
            if previous is not rated:  # never so in a run: the period is being invoiced now
                amounts = dict(previous.amounts)
                for category, amount in summary.amounts.items():
                    amounts[category] = add(amounts.get(category, _ZERO), amount)
                quantities = dict(previous.quantities)
                for category, quantity in summary.quantities.items():
                    quantities[category] = add(quantities.get(category, _ZERO), quantity)
                self.charges[key] = _charges_owning(amounts, add(previous.shortfall, shortfall), quantities)
        billed = self.billed
        year_key = (site, year)
        billed[year_key] = add(billed.get(year_key, _ZERO), summary.billed)

    def _touch(
        self,
        touched: dict[tuple[str, Period], tuple[dict[str, Decimal], dict[str, Decimal], list[Decimal]]],
        key: tuple[str, Period],
    ) -> tuple[dict[str, Decimal], dict[str, Decimal], list[Decimal]]:
        entry = touched.get(key)
        if entry is None:
            previous = self.charges.get(key, _NO_CHARGES)
            entry = touched[key] = (dict(previous.amounts), dict(previous.quantities), [previous.shortfall])
        return entry


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
    builder = LedgerBuilder(ledger)
    builder.record(invoice)
    return builder.freeze()
