"""Properties of rating that must hold for any contract and any usage."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_core import (
    BillingLedger,
    Contract,
    Invoice,
    Minimum,
    Period,
    PricingVersion,
    Site,
    UsageAggregate,
    UsageEvent,
    aggregate_events,
    currency_of,
    invoice_to_data,
    rate_invoice,
    rate_run,
    rate_run_with_ledger,
    rate_site_period,
    record_invoice,
    verify_invoice_data,
)

CATEGORIES = ("standard", "expedited", "review", "storage")
SITES = ("s1", "s2")
FIRST = Period(2026, 1)
LAST = Period(2026, 6)
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

prices = st.integers(0, 5_000_000).map(lambda n: Decimal(n).scaleb(-6))
quantities = st.one_of(
    st.integers(1, 2_000).map(Decimal),
    st.integers(1, 10_000_000).map(lambda n: Decimal(n).scaleb(-6)),
)
window_days = st.integers(0, 180).map(lambda d: date(2026, 1, 1) + timedelta(days=d))


@st.composite
def contracts(draw: Any) -> Contract:
    currency = currency_of(draw(st.sampled_from(["USD", "JPY"])))

    def money(low: int, high: int) -> Decimal:
        return Decimal(draw(st.integers(low, high))).scaleb(-currency.minor_units)

    sites = []
    for site_id in SITES:
        minimum = None
        if draw(st.booleans()):
            counted = draw(
                st.none() | st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True)
            )
            minimum = Minimum(money(0, 200_000), tuple(counted) if counted else None)
        first = PricingVersion(
            effective_from=FIRST.first_day,
            rates={c: draw(prices) for c in CATEGORIES},
            disabled=frozenset(draw(st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True))),
            minimum=minimum,
            annual_cap=draw(st.none() | st.just(money(0, 1_000_000))),
        )
        versions = [first]
        if draw(st.booleans()):  # a mid-year repricing that keeps the cap
            versions.append(
                PricingVersion(
                    effective_from=date(2026, 4, 1), rates={draw(st.sampled_from(CATEGORIES)): draw(prices)}
                )
            )
        active_from = draw(st.none() | window_days)
        active_until = draw(st.none() | window_days)
        if active_from is not None and active_until is not None and active_until <= active_from:
            active_until = None
        sites.append(Site(site_id, site_id.upper(), active_from, active_until, tuple(versions)))
    return Contract(
        tenant="t",
        name="T",
        currency=currency.code,
        contract_start=FIRST.first_day,
        timezone=draw(st.sampled_from(["UTC", "America/New_York", "Europe/London"])),
        sites=tuple(sites),
    )


@st.composite
def event_lists(draw: Any) -> list[UsageEvent]:
    count = draw(st.integers(0, 40))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        UsageEvent(
            source=draw(st.sampled_from(["a", "b"])),
            id=str(index),
            time=start + timedelta(minutes=draw(st.integers(0, 181 * 24 * 60))),
            tenant="t",
            site=draw(st.sampled_from((*SITES, "ghost"))),
            category=draw(st.sampled_from(CATEGORIES)),
            quantity=draw(quantities),
        )
        for index in range(count)
    ]


def run(contract: Contract, events: list[UsageEvent]) -> list[Invoice]:
    return rate_run(contract, aggregate_events(events, contract.timezone), through=LAST)


@PROPERTY_SETTINGS
@given(contracts(), event_lists())
def test_lines_sum_to_site_totals_and_site_totals_to_the_invoice_total(
    contract: Contract, events: list[UsageEvent]
) -> None:
    for invoice in run(contract, events):
        for site in invoice.sites:
            assert site.total == sum((line.amount for line in site.lines if line.billed), Decimal(0))
        assert invoice.total == sum((site.total for site in invoice.sites), Decimal(0))
        assert verify_invoice_data(invoice_to_data(invoice)) == []


@PROPERTY_SETTINGS
@given(contracts(), event_lists())
def test_billed_to_date_moves_by_exactly_the_billed_lines_of_each_invoice(
    contract: Contract, events: list[UsageEvent]
) -> None:
    """Rating takes a section's billed amount from its rated amounts and shortfall, not from its
    lines; whatever it shows as lines must be what billed-to-date counts (one contract year here)."""
    billed: dict[str, Decimal] = {}
    for invoice in run(contract, events):
        for section in invoice.sites:
            shown = sum((line.amount for line in section.lines if line.billed), Decimal(0))
            assert section.billed_to_date == billed.get(section.site, Decimal(0)) + shown
            billed[section.site] = section.billed_to_date


@PROPERTY_SETTINGS
@given(contracts(), event_lists())
def test_the_run_ledger_equals_the_ledger_rebuilt_from_its_invoices_lines(
    contract: Contract, events: list[UsageEvent]
) -> None:
    """A run records its invoices from the charges rating computed (and keeps rating's read-only
    views of them); recording the same invoices from their lines alone must give the same ledger."""
    invoices, run_ledger = rate_run_with_ledger(contract, aggregate_events(events, contract.timezone), LAST)
    rebuilt = BillingLedger()
    for invoice in invoices:
        rebuilt = record_invoice(rebuilt, invoice)
    assert rebuilt == run_ledger


@PROPERTY_SETTINGS
@given(contracts(), event_lists())
def test_a_contract_year_never_bills_more_than_the_cap(contract: Contract, events: list[UsageEvent]) -> None:
    invoices = run(contract, events)
    for site in contract.sites:
        cap = site.pricing[0].annual_cap
        if not isinstance(cap, Decimal):
            continue
        billed = sum((s.total for i in invoices for s in i.sites if s.site == site.id), Decimal(0))
        assert billed <= cap
        for invoice in invoices:
            for section in invoice.sites:
                if section.site == site.id:
                    assert section.total >= 0  # a cap never refunds
                    assert section.cap_remaining is not None and section.cap_remaining >= 0


@PROPERTY_SETTINGS
@given(contracts(), st.dictionaries(st.sampled_from(CATEGORIES), quantities), quantities, st.integers(0, 5))
def test_a_shortfall_is_never_negative_nor_reduced_by_uncounted_usage(
    contract: Contract, quantities_by_category: dict[str, Decimal], extra: Decimal, month: int
) -> None:
    period = FIRST.plus(month)
    site = contract.sites[0]
    usage = {c: UsageAggregate(site.id, c, q, 1) for c, q in quantities_by_category.items()}
    rating = rate_site_period(contract, site.id, period, usage)
    if rating is None:
        return
    assert rating.shortfall >= 0
    minimum = rating.terms.minimum
    uncounted = [
        c for c in CATEGORIES if c in rating.terms.disabled or (minimum is not None and not minimum.counts(c))
    ]
    for category in uncounted:
        more = dict(usage)
        before = usage.get(category)
        more[category] = UsageAggregate(site.id, category, extra + (before.quantity if before else 0), 2)
        again = rate_site_period(contract, site.id, period, more)
        assert again is not None
        assert again.shortfall == rating.shortfall


@PROPERTY_SETTINGS
@given(contracts(), event_lists(), st.randoms(use_true_random=False))
def test_event_order_and_duplicates_never_change_a_result(
    contract: Contract, events: list[UsageEvent], shuffler: random.Random
) -> None:
    replayed = events + shuffler.sample(events, k=len(events) // 2)
    shuffler.shuffle(replayed)
    expected = [invoice_to_data(i) for i in run(contract, events)]
    assert [invoice_to_data(i) for i in run(contract, replayed)] == expected


@PROPERTY_SETTINGS
@given(contracts(), event_lists())
def test_rerating_with_no_late_usage_gives_no_adjustment(
    contract: Contract, events: list[UsageEvent]
) -> None:
    usage = aggregate_events(events, contract.timezone)
    _, ledger = rate_run_with_ledger(contract, usage, through=LAST)
    following = rate_invoice(contract, LAST.next(), usage, ledger)
    assert all(line.kind != "prior_period_adjustment" for s in following.sites for line in s.lines)


@PROPERTY_SETTINGS
@given(contracts(), event_lists(), st.data())
def test_late_usage_ends_up_billed_as_if_it_had_been_on_time(
    contract: Contract, events: list[UsageEvent], data: st.DataObject
) -> None:
    late = {i for i in range(len(events)) if data.draw(st.booleans())}
    on_time = [e for i, e in enumerate(events) if i not in late]
    all_usage = aggregate_events(events, contract.timezone)
    early_invoices, ledger = rate_run_with_ledger(
        contract, aggregate_events(on_time, contract.timezone), LAST
    )
    catch_up = rate_invoice(contract, LAST.next(), all_usage, ledger)
    punctual = rate_run(contract, all_usage, LAST.next())
    billed_late = sum((i.total for i in [*early_invoices, catch_up]), Decimal(0))
    assert billed_late == sum((i.total for i in punctual), Decimal(0))


AMOUNT_KEYS = {
    "amount",
    "total",
    "billed_to_date",
    "cap_remaining",
    "sum_of_site_totals",
    "sum_of_components",
}


def amount_strings(node: Any, key: str = "") -> list[str]:
    if isinstance(node, dict):
        found = []
        for k, v in node.items():
            if k in ("summary", "totals"):
                found += [s for s in _leaves(v) if isinstance(s, str)]
            else:
                found += amount_strings(v, k)
        return found
    if isinstance(node, list):
        return [s for item in node for s in amount_strings(item, key)]
    return [node] if key in AMOUNT_KEYS and isinstance(node, str) else []


def _leaves(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [leaf for v in node.values() for leaf in _leaves(v)]
    return [node]


@PROPERTY_SETTINGS
@given(contracts(), event_lists())
def test_every_amount_has_exactly_the_currency_minor_digits(
    contract: Contract, events: list[UsageEvent]
) -> None:
    digits = currency_of(contract.currency).minor_units
    pattern = re.compile(rf"^-?\d+\.\d{{{digits}}}$" if digits else r"^-?\d+$")
    for invoice in run(contract, events):
        amounts = amount_strings(invoice_to_data(invoice))
        assert amounts  # there is always at least the invoice total
        for text in amounts:
            assert pattern.match(text), text
