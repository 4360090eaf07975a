"""Rating: the rules of billing-rules §4 applied in order, for one site, one invoice, or a run.

This is the only place money is computed. Every function is pure: the same contract,
usage and ledger always give the same invoice.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import reduce
from operator import attrgetter
from types import MappingProxyType

from .collector import collector_paused
from .contract import Contract, Layered, PricingVersion, Site, Terms, default_chain, site_terms
from .errors import RatingError
from .invoice import (
    CAP_CREDIT,
    MINIMUM_SHORTFALL,
    PRIOR_PERIOD_ADJUSTMENT,
    USAGE,
    Invoice,
    Line,
    SiteSection,
    UnbillableUsage,
)
from .ledger import BillingLedger, LedgerBuilder, LedgerView, RatedCharges
from .money import (
    Currency,
    exact_add,
    exact_sum,
    format_amount,
    format_quantity,
    format_unit_price,
    line_amount,
    prorate,
    round_amount,
)
from .periods import ContractYear, Period, contract_year_of
from .usage import UsageAggregate, UsageByPeriod

__all__ = ["SitePeriodRating", "rate_invoice", "rate_run", "rate_run_with_ledger", "rate_site_period"]


@dataclass(frozen=True, init=False)
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
    quantities: Mapping[str, Decimal] = field(default_factory=dict)
    """Quantity behind each billed category amount."""

    def __init__(
        self,
        site: str,
        period: Period,
        terms: Terms,
        lines: tuple[Line, ...],
        amounts: Mapping[str, Decimal] | None = None,
        shortfall: Decimal = Decimal(0),
        event_count: int = 0,
        quantities: Mapping[str, Decimal] | None = None,
    ) -> None:
        # Written out (not generated) for speed: one of these is built per site and period.
        if quantities is None:
            quantities = {
                line.category: line.quantity
                for line in lines
                if line.kind == USAGE
                and line.billed
                and line.category is not None
                and line.quantity is not None
            }
        fields = self.__dict__
        fields["site"] = site
        fields["period"] = period
        fields["terms"] = terms
        fields["lines"] = lines
        fields["amounts"] = MappingProxyType(dict(amounts or {}))
        fields["shortfall"] = shortfall
        fields["event_count"] = event_count
        fields["quantities"] = MappingProxyType(dict(quantities))

    @property
    def pre_cap(self) -> Decimal:
        return exact_add(self.shortfall, *self.amounts.values())


class _Priced:
    """Resolved terms with what rating a line needs from them: each billable category's rate
    and the printed " × unit price" end of its explanation, worked out once per terms rather
    than once per line."""

    __slots__ = ("disabled", "prices", "terms")

    def __init__(self, terms: Terms, currency: Currency, printed: dict[Decimal, str]) -> None:
        """``printed`` holds the " × unit price" texts of the rates seen so far (a text depends
        only on the rate's value), shared by the terms of one run."""
        self.terms = terms
        self.disabled = disabled = terms.disabled
        # Disabled categories are left out, so one lookup per line finds a billable rate.
        prices: dict[str, tuple[Decimal, str]] = {}
        self.prices = prices
        for category, rate in terms.rates.items():
            if category not in disabled:
                text = printed.get(rate)
                if text is None:
                    text = printed[rate] = " × " + format_unit_price(rate, currency)
                prices[category] = (rate, text)


class _PeriodFacts:
    """What rating every site of one period shares: the period's bounds, length and contract
    year, its usage grouped by site, and terms resolved per site id (a Period hashes slowly,
    a site id quickly, so per-site lookups go through this object)."""

    __slots__ = ("after", "days", "defaults_in_force", "first", "label", "priced", "usage", "year")

    def __init__(self, period: Period, contract: Contract, usage: UsageByPeriod) -> None:
        self.first = period.first_day
        self.after = period.next().first_day
        self.days = (self.after - self.first).days
        self.year = contract_year_of(contract.contract_start, period)
        self.label = self.year.label
        self.defaults_in_force = bisect_right(_effective_dates(contract.defaults), self.first)
        self.priced: dict[str, _Priced | None] = {}
        grouped: dict[str, dict[str, UsageAggregate]] = {}
        last_site, by_category = None, {}
        for (site_id, category), aggregate in usage.get(period, {}).items():
            if site_id != last_site:  # a site's aggregates usually come one after another
                found = grouped.get(site_id)
                by_category = grouped[site_id] = {} if found is None else found
                last_site = site_id
            by_category[category] = aggregate
        self.usage = grouped


def _effective_dates(versions: Iterable[PricingVersion]) -> list[date]:
    return sorted(version.effective_from for version in versions)


_NOT_RESOLVED = object()
_NO_USAGE: Mapping[str, UsageAggregate] = MappingProxyType({})


class _Pricing:
    """Memoised lookups for one contract and one usage mapping: terms per (site, period) and
    usage grouped by site, so rating many sites never rescans a whole period's usage.

    Terms change only where a version takes effect, so they are resolved once per site and
    pair of version chains in force (default chain, site chain), not once per period."""

    def __init__(self, contract: Contract, usage: UsageByPeriod) -> None:
        self.contract = contract
        self.currency = contract.money
        self.zero = self.currency.zero()
        self._start_day = contract.start_period.first_day
        self._usage = usage
        self._by_chain: dict[tuple[str, int, int], _Priced | None] = {}
        self._default_chains: dict[int, Layered | None] = {}
        self._printed: dict[Decimal, str] = {}
        self._site_dates: dict[str, list[date]] = {}
        self._facts: dict[Period, _PeriodFacts] = {}

    def facts(self, period: Period) -> _PeriodFacts:
        facts = self._facts.get(period)
        if facts is None:
            facts = self._facts[period] = _PeriodFacts(period, self.contract, self._usage)
        return facts

    def active_days(self, site: Site, period: Period) -> int:
        return _active_days(site, self.facts(period))

    def priced(
        self, site_id: str, period: Period, facts: _PeriodFacts | None = None, site: Site | None = None
    ) -> _Priced | None:
        """The site's resolved terms; ``facts`` (the period's) spares looking the period up, and
        ``site`` (the contract's site of that id) looking the site up."""
        if facts is None:
            facts = self.facts(period)
        found = facts.priced.get(site_id, _NOT_RESOLVED)
        if found is _NOT_RESOLVED:
            if site is None:
                site = self.contract.site(site_id)
            found = facts.priced[site_id] = self._resolve(site, site_id, period, facts)
        return found  # type: ignore[return-value]

    def _resolve(
        self, site: Site | None, site_id: str, period: Period, facts: _PeriodFacts
    ) -> _Priced | None:
        if site is None or facts.first < self._start_day:
            return None
        dates = self._site_dates.get(site_id)
        if dates is None:
            dates = self._site_dates[site_id] = _effective_dates(site.pricing)
        # The versions in force are those dated on or before the period start: a chain is
        # identified by how many there are.
        chain = (site_id, facts.defaults_in_force, bisect_right(dates, facts.first))
        found = self._by_chain.get(chain, _NOT_RESOLVED)
        if found is _NOT_RESOLVED:
            # terms_for(contract, site_id, period), with the default chain laid once, not per site.
            in_force = facts.defaults_in_force
            if in_force not in self._default_chains:
                self._default_chains[in_force] = default_chain(self.contract, period)
            terms = site_terms(site, period, self._default_chains[in_force])
            priced = None if terms is None else _Priced(terms, self.currency, self._printed)
            found = self._by_chain[chain] = priced
        return found  # type: ignore[return-value]

    def terms(self, site_id: str, period: Period) -> Terms | None:
        priced = self.priced(site_id, period)
        return None if priced is None else priced.terms

    def by_site(self, period: Period) -> dict[str, dict[str, UsageAggregate]]:
        return self.facts(period).usage

    def usage(self, period: Period, site_id: str) -> Mapping[str, UsageAggregate]:
        return self.facts(period).usage.get(site_id, _NO_USAGE)


def _active_days(site: Site, facts: _PeriodFacts) -> int:
    """``site.active_days(period)`` from the period's cached bounds."""
    if site.active_from is None and site.active_until is None:
        return facts.days
    lo = facts.first if site.active_from is None else max(facts.first, site.active_from)
    hi = facts.after if site.active_until is None else min(facts.after, site.active_until)
    return max(0, (hi - lo).days)


def unbillable_reason(contract: Contract, site_id: str, period: Period) -> str | None:
    """Why a site's usage in a period cannot be billed, or None when it can."""
    return _unbillable_reason(_Pricing(contract, {}), site_id, period)


def _unbillable_reason(pricing: _Pricing, site_id: str, period: Period) -> str | None:
    site = pricing.contract.site(site_id)
    if site is None:
        return "unknown site"
    if period < pricing.contract.start_period:
        return "before contract start"
    if not pricing.active_days(site, period):
        return "site not active in period"
    if pricing.terms(site_id, period) is None:
        return "no pricing in force"
    return None


def rate_site_period(
    contract: Contract, site_id: str, period: Period, usage: Mapping[str, UsageAggregate]
) -> SitePeriodRating | None:
    """Rate steps 1–2 for one site and period from its usage by category.

    Returns None when the site cannot be billed for the period (unknown site, not active in
    the period, before the contract start, or no pricing in force): its usage is unbillable.
    Raises RatingError for usage in a category that has no rate.
    """
    return _rate_site(_Pricing(contract, {}), site_id, period, usage)


def _rate_site(
    pricing: _Pricing, site_id: str, period: Period, usage: Mapping[str, UsageAggregate]
) -> SitePeriodRating | None:
    site = pricing.contract.site(site_id)
    if site is None:
        return None
    return _rate_known_site(pricing, site, period, pricing.facts(period), usage)


def _rate_known_site(
    pricing: _Pricing, site: Site, period: Period, facts: _PeriodFacts, usage: Mapping[str, UsageAggregate]
) -> SitePeriodRating | None:
    rated = _rated(pricing, site, period, facts, usage)
    if rated is None:
        return None
    terms, lines, amounts, quantities, shortfall, events = rated
    return _site_rating(site.id, period, terms, lines, amounts, shortfall, events, quantities)


_Rated = tuple[Terms, tuple[Line, ...], dict[str, Decimal], dict[str, Decimal], Decimal, int]
"""A SitePeriodRating's terms, lines, amounts, quantities, shortfall and event count, unwrapped."""


def _rated(
    pricing: _Pricing, site: Site, period: Period, facts: _PeriodFacts, usage: Mapping[str, UsageAggregate]
) -> _Rated | None:
    """Steps 1–2 for a contract's site, or None when it cannot be billed for the period."""
    site_id = site.id
    priced = pricing.priced(site_id, period, facts, site)
    if priced is None:
        return None
    active = _active_days(site, facts)
    if not active:
        return None
    terms = priced.terms
    lines, amounts, quantities = _usage_lines(pricing, site_id, period, priced, sorted(usage.items()))
    events = sum(map(_events_of, usage.values()))
    shortfall = pricing.zero
    if terms.minimum is not None:
        shortfall, line = _shortfall(terms, amounts, pricing.currency, active, facts.days)
        if line is not None:
            lines.append(line)
    return terms, tuple(lines), amounts, quantities, shortfall, events


def _usage_lines(
    pricing: _Pricing, site_id: str, period: Period, priced: _Priced, items: list[tuple[str, UsageAggregate]]
) -> tuple[list[Line], dict[str, Decimal], dict[str, Decimal]]:
    """Usage lines in category order, with the billed amounts and their quantities per category."""
    contract, zero = pricing.contract, pricing.zero
    terms, prices, disabled = priced.terms, priced.prices, priced.disabled
    # Bound once: the loop below runs once per site, category and period.
    currency, new_line, line_type = pricing.currency, _new_line, Line
    lines: list[Line] = []
    append = lines.append
    amounts: dict[str, Decimal] = {}
    quantities: dict[str, Decimal] = {}
    for category, aggregate in items:
        quantity = aggregate.quantity
        price = prices.get(category)
        if price is None:
            if category in disabled:
                append(
                    _new_line(
                        Line,
                        (
                            USAGE,
                            zero,
                            False,
                            "category disabled",
                            category,
                            quantity,
                            terms.rates.get(category),
                            None,
                            None,
                        ),
                    )
                )
                continue
            raise RatingError(
                f"tenant {contract.tenant}, site {site_id}, period {period}: "
                f"category {category!r} has usage ({format_quantity(quantity)}) but no rate",
                tenant=contract.tenant,
                site=site_id,
                category=category,
                period=str(period),
            )
        rate, times_price = price
        amount = amounts[category] = line_amount(quantity, rate, currency)
        quantities[category] = quantity
        append(
            new_line(
                line_type,
                (
                    USAGE,
                    amount,
                    True,
                    format_quantity(quantity) + times_price,
                    category,
                    quantity,
                    rate,
                    None,
                    None,
                ),
            )
        )
    return lines, amounts, quantities


_events_of = attrgetter("events")


def _site_rating(
    site: str,
    period: Period,
    terms: Terms,
    lines: tuple[Line, ...],
    amounts: dict[str, Decimal],
    shortfall: Decimal,
    event_count: int,
    quantities: dict[str, Decimal],
) -> SitePeriodRating:
    """A SitePeriodRating over dicts nobody else holds, without its constructor's defensive copies."""
    rating = object.__new__(SitePeriodRating)
    fields = rating.__dict__
    fields["site"] = site
    fields["period"] = period
    fields["terms"] = terms
    fields["lines"] = lines
    fields["amounts"] = MappingProxyType(amounts)
    fields["shortfall"] = shortfall
    fields["event_count"] = event_count
    fields["quantities"] = MappingProxyType(quantities)
    return rating


_new_line = _new_tuple = tuple.__new__
"""Builds a Line from all nine fields (or another named tuple from all of its own) at C speed:
a named tuple's own constructor is a Python function that resolves defaults."""


def _shortfall(
    terms: Terms, amounts: Mapping[str, Decimal], currency: Currency, active: int, days: int
) -> tuple[Decimal, Line | None]:
    minimum, zero = terms.minimum, currency.zero()
    if minimum is None:
        return zero, None
    counted = minimum.counted
    due = prorate(minimum.amount, active, days, currency)
    counts = amounts.values() if counted is None else [a for c, a in amounts.items() if c in counted]
    eligible = reduce(exact_sum, counts, zero)
    shortfall = max(zero, due - eligible)
    if shortfall == 0:
        return shortfall, None
    counting = ", ".join(minimum.categories) if minimum.categories is not None else "all categories"
    stated = format_amount(round_amount(minimum.amount, currency), currency)
    owed = stated if active == days else f"{stated} × {active}/{days} days = {format_amount(due, currency)}"
    explanation = f"minimum {owed} − eligible {format_amount(eligible, currency)} ({counting})"
    return shortfall, Line(MINIMUM_SHORTFALL, shortfall, True, explanation)


def _adjustment_lines(pricing: _Pricing, site_id: str, period: Period, ledger: LedgerView) -> list[Line]:
    """Re-rate an invoiced period (steps 1–2) and itemise what differs from what was billed."""
    rerated = _rate_site(pricing, site_id, period, pricing.usage(period, site_id))
    billed = ledger.charges_for(site_id, period)
    currency = pricing.currency
    year = pricing.facts(period).label
    new_amounts = dict(rerated.amounts) if rerated else {}
    new_quantities = rerated.quantities if rerated else {}
    lines: list[Line] = []
    for category in sorted(set(new_amounts) | set(billed.amounts)):
        delta = new_amounts.get(category, Decimal(0)) - billed.amounts.get(category, Decimal(0))
        if delta == 0:
            continue
        quantity = new_quantities.get(category, Decimal(0)) - billed.quantities.get(category, Decimal(0))
        rate = rerated.terms.rates.get(category) if rerated else None
        lines.append(
            Line(
                PRIOR_PERIOD_ADJUSTMENT,
                round_amount(delta, currency),
                True,
                f"late usage for {period}",
                category=category,
                quantity=quantity,
                unit_price=rate,
                period=period,
                contract_year=year,
            )
        )
    new_shortfall = rerated.shortfall if rerated else currency.zero()
    delta = new_shortfall - billed.shortfall
    if delta != 0:
        explanation = (
            f"minimum shortfall for {period} recalculated: "
            f"{format_amount(round_amount(billed.shortfall, currency), currency)} → "
            f"{format_amount(new_shortfall, currency)}"
        )
        lines.append(
            Line(
                PRIOR_PERIOD_ADJUSTMENT,
                round_amount(delta, currency),
                True,
                explanation,
                period=period,
                contract_year=year,
            )
        )
    return lines


def _cap_credit(
    pre_cap: Decimal, cap: Decimal | None, billed_so_far: Decimal, year: str, currency: Currency
) -> Line | None:
    """The credit that holds a contract year (named by its label) to its cap, if any."""
    if cap is None:
        return None
    allowed = max(currency.zero(), cap - billed_so_far)
    credit = min(pre_cap, allowed) - pre_cap
    if credit == 0:
        return None
    explanation = (
        f"annual cap {format_amount(cap, currency)}, billed so far {format_amount(billed_so_far, currency)} "
        f"in contract year {year}: {format_amount(allowed, currency)} of "
        f"{format_amount(pre_cap, currency)} billable"
    )
    return Line(CAP_CREDIT, credit, True, explanation, contract_year=year)


def _cap_of_year(pricing: _Pricing, site_id: str, year: ContractYear, ledger: LedgerView) -> Decimal | None:
    """The cap an earlier year's late amounts are held to: the cap in force for the last
    period of that year that was invoiced."""
    invoiced = [p for p in ledger.invoiced if year.contains(p)]
    if not invoiced:
        return None
    terms = pricing.terms(site_id, max(invoiced))
    return terms.annual_cap if terms else None


def _late_unbillable(
    pricing: _Pricing, site_id: str, period: Period, ledger: LedgerView, reason: str
) -> list[UnbillableUsage]:
    """Unbillable usage of an earlier period not reported on any earlier invoice."""
    items = []
    for category, aggregate in sorted(pricing.usage(period, site_id).items()):
        fresh = aggregate.quantity - ledger.reported_unbillable(site_id, category, period)
        if fresh > 0:
            items.append(UnbillableUsage(site_id, category, period, fresh, 0, reason))
    return items


def _site_section(
    pricing: _Pricing,
    site: Site,
    period: Period,
    ledger: LedgerView,
    revisit: list[Period],
    facts: _PeriodFacts,
) -> tuple[SiteSection | None, list[UnbillableUsage], int, RatedCharges | None]:
    """The site's section, its unbillable usage, its distinct events, and (when the section holds
    only the period's own lines) the charges for the ledger, read off the rating. ``facts`` are
    the period's."""
    currency, site_id = pricing.currency, site.id
    current_usage = facts.usage.get(site_id, _NO_USAGE)
    known = pricing.contract.site(site_id)
    rated = None if known is None else _rated(pricing, known, period, facts, current_usage)
    unbillable: list[UnbillableUsage] = []
    if rated is not None:
        terms: Terms | None
        terms, rated_lines, amounts, quantities, shortfall, events = rated
    else:
        if current_usage:
            reason = _unbillable_reason(pricing, site_id, period) or "not billable"
            unbillable = [
                UnbillableUsage(site_id, c, period, a.quantity, a.events, reason)
                for c, a in sorted(current_usage.items())
            ]
        priced = pricing.priced(site_id, period, facts)
        terms = priced.terms if priced else None
        rated_lines = ()
    year = facts.year
    own_lines = rated_lines
    earlier_years: dict[ContractYear, list[Line]] = {}
    if revisit:  # a run revisits earlier periods at most once, on its first invoice
        own_list = list(own_lines)
        for earlier in revisit:
            if ledger.is_invoiced(earlier):
                for line in _adjustment_lines(pricing, site_id, earlier, ledger):
                    earlier_year = pricing.facts(earlier).year
                    if earlier_year == year:
                        own_list.append(line)
                    else:
                        earlier_years.setdefault(earlier_year, []).append(line)
            earlier_reason = _unbillable_reason(pricing, site_id, earlier)
            if earlier_reason is not None:
                unbillable += _late_unbillable(pricing, site_id, earlier, ledger, earlier_reason)
        own_lines = tuple(own_list)
    cap = terms.annual_cap if terms else None
    billed_before = ledger.billed_so_far(site_id, year)
    if rated is not None and own_lines is rated_lines:
        # The billed lines are the usage lines of amounts, in order, then the shortfall line.
        pre_cap = reduce(exact_sum, amounts.values(), pricing.zero)
        if shortfall != 0:
            pre_cap = exact_sum(pre_cap, shortfall)
    else:
        pre_cap = pricing.zero
        for line in own_lines:
            if line.billed:
                pre_cap = exact_sum(pre_cap, line.amount)
    own_credit = None if cap is None else _cap_credit(pre_cap, cap, billed_before, facts.label, currency)
    lines = own_lines if own_credit is None else (*own_lines, own_credit)
    if earlier_years:
        year_list = list(lines)
        for earlier_year in sorted(earlier_years):
            year_lines = earlier_years[earlier_year]
            year_list += year_lines
            year_pre_cap = exact_add(*(line.amount for line in year_lines))
            year_cap = _cap_of_year(pricing, site_id, earlier_year, ledger)
            billed_in_year = ledger.billed_so_far(site_id, earlier_year)
            credit = _cap_credit(year_pre_cap, year_cap, billed_in_year, earlier_year.label, currency)
            if credit is not None:
                year_list.append(credit)
        lines = tuple(year_list)
    if not lines and not (terms is not None and _active_days(site, facts)):
        return None, unbillable, 0, None
    credit_amount = _ZERO if own_credit is None else own_credit.amount
    billed_to_date = exact_add(billed_before, pre_cap, credit_amount)
    section = SiteSection(
        site_id,
        lines,
        facts.label,
        billed_to_date,
        None if cap is None else max(currency.zero(), cap - billed_to_date),
        site.name,
    )
    if rated is None:
        return section, unbillable, 0, None
    charges = None
    if len(own_lines) == len(rated_lines) and not earlier_years:
        rated_shortfall = shortfall if shortfall != 0 else None
        charges = _new_tuple(
            RatedCharges,
            (
                MappingProxyType(amounts),
                MappingProxyType(quantities),
                rated_shortfall,
                pre_cap if own_credit is None else exact_sum(pre_cap, own_credit.amount),
                bool(amounts) or rated_shortfall is not None,
            ),
        )
    return section, unbillable, events, charges


_ZERO = Decimal(0)


def _rate_invoice(
    pricing: _Pricing,
    period: Period,
    usage: UsageByPeriod,
    ledger: LedgerView,
    settled: frozenset[Period],
    number: str,
    status: str,
    issue_date: date | None,
    due_date: date | None,
) -> tuple[Invoice, dict[str, RatedCharges]]:
    """The invoice, and the charges of the sections the ledger can take from rating directly."""
    contract = pricing.contract
    if ledger.is_invoiced(period):
        raise ValueError(f"period {period} is already invoiced ({ledger.invoiced[period]})")
    later = sorted(p for p in ledger.invoiced if p > period)
    if later:
        raise ValueError(f"period {period} cannot be invoiced after the later period {later[0]}")
    # Earlier periods to look at again: invoiced ones (late usage) and pre-contract ones
    # (never invoiced, their usage is reported as unbillable once). Only periods the caller
    # supplied usage for are revisited: an absent period means "not examined", never "no usage".
    revisit = sorted(
        p
        for p in usage
        if p < period and p not in settled and (ledger.is_invoiced(p) or p < contract.start_period)
    )
    sections: list[SiteSection] = []
    unbillable: list[UnbillableUsage] = []
    events = 0
    rated: dict[str, RatedCharges] = {}
    facts = pricing.facts(period)
    for site in contract.sites:
        section, site_unbillable, site_events, charges = _site_section(
            pricing, site, period, ledger, revisit, facts
        )
        if section is not None:
            sections.append(section)
            if charges is not None:
                rated[site.id] = charges
        unbillable += site_unbillable
        events += site_events
    for when in [period, *revisit]:
        for site_id in sorted(set(pricing.by_site(when)) - set(contract.site_ids)):
            if when == period:
                unbillable += [
                    UnbillableUsage(site_id, c, when, a.quantity, a.events, "unknown site")
                    for c, a in sorted(pricing.usage(when, site_id).items())
                ]
            else:
                unbillable += _late_unbillable(pricing, site_id, when, ledger, "unknown site")
    invoice = Invoice(
        number=number,
        tenant=contract.tenant,
        period=period,
        currency=contract.currency,
        sites=tuple(sections),
        status=status,
        issue_date=issue_date,
        due_date=due_date,
        unbillable=tuple(sorted(unbillable, key=lambda u: (u.period, u.site, u.category))),
        event_count=events,
        contract_year=pricing.facts(period).label,
    )
    return invoice, rated


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

    ``usage`` holds the tenant's usage by period: the invoiced period's usage is rated, and
    each earlier period it holds that is already in the ledger is re-rated with all of that
    period's usage to produce prior-period adjustments for late usage. Earlier periods left
    out of ``usage`` are not revisited (pass them when late events arrived for them).
    The ledger supplies each site's contract-year billed so far.
    The caller records the invoice with ``record_invoice`` once it is issued.
    """
    invoice, _rated = _rate_invoice(
        _Pricing(contract, usage),
        period,
        usage,
        ledger,
        frozenset(),
        number or f"{contract.tenant.upper()}-{period}",
        status,
        issue_date,
        due_date,
    )
    return invoice


def rate_run_with_ledger(
    contract: Contract,
    usage_by_period: UsageByPeriod,
    through: Period,
    ledger: BillingLedger | None = None,
    *,
    number_for: Callable[[Period, int], str] | None = None,
    status: str = "draft",
    on_invoice: Callable[[Invoice], None] | None = None,
) -> tuple[list[Invoice], BillingLedger]:
    """Like ``rate_run`` but also returns the ledger after the last invoice.

    ``on_invoice`` is called with each invoice as soon as it is rated (e.g. for progress).
    Automatic garbage collection is paused while the run rates (see ``collector``).
    """
    state = LedgerBuilder(ledger if ledger is not None else BillingLedger())
    pricing = _Pricing(contract, usage_by_period)
    invoices: list[Invoice] = []
    settled: set[Period] = set()
    period = contract.start_period
    with collector_paused():
        while period <= through:
            if not state.is_invoiced(period):
                number = (
                    number_for(period, len(invoices) + 1)
                    if number_for
                    else f"{contract.tenant.upper()}-{period}"
                )
                invoice, rated = _rate_invoice(
                    pricing, period, usage_by_period, state, frozenset(settled), number, status, None, None
                )
                state.record(invoice, rated)
                invoices.append(invoice)
                if on_invoice is not None:
                    on_invoice(invoice)
                # The run's usage is fixed: once an invoice has examined the earlier periods
                # (and this one), later invoices of the run cannot find anything new in them.
                settled.update(p for p in usage_by_period if p <= period)
                settled.add(period)
            period = period.next()
    return invoices, state.freeze()


def rate_run(
    contract: Contract,
    usage_by_period: UsageByPeriod,
    through: Period,
    ledger: BillingLedger | None = None,
    *,
    number_for: Callable[[Period, int], str] | None = None,
    status: str = "draft",
) -> list[Invoice]:
    """Rate every period from the contract start through ``through`` in order, recording
    each invoice before rating the next, so billed-to-date carries from one to the next.

    Usage before the contract start is reported once as unbillable on the first invoice.
    Periods already in ``ledger`` are skipped (only re-rated for adjustments). ``number_for``
    receives the period and its 1-based position in the run; the default numbers invoices
    "<TENANT>-<YYYY-MM>".
    """
    return rate_run_with_ledger(
        contract, usage_by_period, through, ledger, number_for=number_for, status=status
    )[0]
