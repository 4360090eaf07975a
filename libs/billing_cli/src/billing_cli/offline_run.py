"""The offline run: rate a contract's periods in order from a file of events, without a server.

Every amount comes from billing_core: events are aggregated by ``aggregate_events``
(duplicates by source and id count once) and the periods are rated in order by
``rate_run_with_ledger``, which records each invoice before rating the next so each
site's contract-year billed-to-date carries into the next period. This module only decides
which periods to rate and keeps note of usage it could not put on an invoice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from billing_core import (
    BillingLedger,
    Contract,
    Invoice,
    Period,
    PeriodUsage,
    UsageEvent,
    aggregate_events,
    rate_run_with_ledger,
)

from .invoice_numbers import RunNumbering

__all__ = [
    "OFFLINE_STATUS",
    "NoPeriodsError",
    "RunPlan",
    "RunResult",
    "periods_between",
    "plan_run",
    "rate_plan",
    "run_offline",
]

OFFLINE_STATUS = "draft"
"""Offline invoices are previews: never issued, so never numbered by the platform."""


class NoPeriodsError(ValueError):
    """Nothing to rate: no events and no --through, or --through before the contract start."""


@dataclass(frozen=True)
class RunPlan:
    """What a run will rate: the tenant's usage by period and the periods, in order."""

    usage: Mapping[Period, PeriodUsage]
    periods: tuple[Period, ...]
    notes: tuple[str, ...] = ()


@dataclass
class RunResult:
    invoices: list[Invoice] = field(default_factory=list)
    ledger: BillingLedger = field(default_factory=BillingLedger)
    notes: list[str] = field(default_factory=list)
    """Usage that was read but is on no invoice, said plainly (never silently dropped)."""


def periods_between(first: Period, last: Period) -> list[Period]:
    count = last.months_since(first) + 1
    return [first.plus(offset) for offset in range(max(count, 0))]


def _event_count(usage: PeriodUsage) -> int:
    return sum(aggregate.events for aggregate in usage.values())


def plan_run(contract: Contract, events: Iterable[UsageEvent], through: Period | None = None) -> RunPlan:
    """Aggregate the tenant's events and choose the periods: contract start through ``through``
    (default: the last period with usage). Raises NoPeriodsError when there is nothing to rate."""
    other_tenants: dict[str, int] = {}

    def own_events() -> Iterable[UsageEvent]:
        for event in events:
            if event.tenant == contract.tenant:
                yield event
            else:
                other_tenants[event.tenant] = other_tenants.get(event.tenant, 0) + 1

    usage = aggregate_events(own_events(), contract.timezone)
    notes = [
        f"{count} events of tenant {tenant!r} skipped: the contract is for {contract.tenant!r}"
        for tenant, count in sorted(other_tenants.items())
    ]
    last = through or (max(usage) if usage else None)
    if last is None:
        raise NoPeriodsError(f"no events for tenant {contract.tenant!r}; give --through to rate anyway")
    first = contract.start_period
    if last < first:
        raise NoPeriodsError(f"period {last} is before the contract start {first}")
    notes.extend(_unrated_notes(usage, last))
    return RunPlan(usage, tuple(periods_between(first, last)), tuple(notes))


def rate_plan(
    contract: Contract,
    plan: RunPlan,
    *,
    numbering: RunNumbering | None = None,
    on_invoice: Callable[[Invoice], None] | None = None,
) -> RunResult:
    """Rate the planned periods in order with billing_core's ``rate_run_with_ledger``.

    ``on_invoice`` is told each invoice as soon as it is rated (progress). billing_core's
    RatingError (a category with no rate) passes through unchanged so the caller can name
    tenant, site, category and period.
    """
    numbering = numbering or RunNumbering()
    if not plan.periods:
        return RunResult(notes=list(plan.notes))

    def number_for(period: Period, _position: int) -> str:
        return numbering.next_for(period)

    last = plan.periods[-1]
    usage = {period: usage for period, usage in plan.usage.items() if period <= last}
    invoices, ledger = rate_run_with_ledger(
        contract, usage, last, number_for=number_for, status=OFFLINE_STATUS, on_invoice=on_invoice
    )
    notes = list(plan.notes)
    notes.extend(
        f"{invoice.period}: site {item.site} category {item.category} period {item.period}: "
        f"{item.events} events (quantity {item.quantity}) not billed: {item.reason}"
        for invoice in invoices
        for item in invoice.unbillable
    )
    return RunResult(invoices, ledger, notes)


def run_offline(
    contract: Contract,
    events: Iterable[UsageEvent],
    through: Period | None = None,
    *,
    numbering: RunNumbering | None = None,
) -> RunResult:
    """Plan and rate in one call."""
    return rate_plan(contract, plan_run(contract, events, through), numbering=numbering)


def _unrated_notes(usage: Mapping[Period, PeriodUsage], last: Period) -> list[str]:
    """Usage after the last rated period is named, so a short --through never hides events.
    (Usage before the contract start is reported by billing_core as unbillable.)"""
    after = sum(_event_count(u) for p, u in usage.items() if p > last)
    return [f"{after} events after {last} are not rated in this run"] if after else []
