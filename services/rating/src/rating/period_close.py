"""Closing a tenant's period: freeze the configuration used and announce it for invoicing.

A period closes once it has ended and its grace period has passed (the scheduler), or at
once on request after it has ended. Periods close strictly in order from the contract start,
so invoices follow each other without gaps and every invoice's billed-to-date counts all earlier
periods; a close that would skip an open period is refused and names it. The scheduler leaves
alone periods that had already ended when the tenant was onboarded: closing history is an
explicit decision, and the scheduler waits until it has been made.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from billing_core import Period, period_of
from rating.clock import Clock
from rating.config_events import period_closed
from rating.contract_documents import document_of, load_contract, stored_contract
from rating.dashboard import DashboardService
from rating.errors import EarlierPeriodOpen, NotFound, PeriodLocked
from rating.ports import RatingStore, UsageReader
from rating.records import ClosedPeriod, TenantState

log = logging.getLogger(__name__)


def first_open_period(start: Period, period: Period, closed: set[str]) -> Period | None:
    """The earliest period from ``start`` up to (not including) ``period`` that is not closed."""
    candidate = start
    while candidate < period:
        if str(candidate) not in closed:
            return candidate
        candidate = candidate.next()
    return None


@dataclass(frozen=True)
class CloseResult:
    closed: ClosedPeriod
    already_closed: bool


class PeriodCloser:
    def __init__(
        self, store: RatingStore, usage: UsageReader, clock: Clock, dashboard: DashboardService
    ) -> None:
        self._store = store
        self._usage = usage
        self._clock = clock
        self._dashboard = dashboard

    async def close(self, tenant_id: str, period: Period, actor: str) -> CloseResult:
        async with self._store.tenant_transaction(tenant_id) as tx:
            state, contract = stored_contract(await tx.state(), tenant_id)
            already = set(await tx.closed_periods())
            if str(period) in already:
                existing = await self._store.closed_period(tenant_id, str(period))
                if existing is not None:
                    return CloseResult(existing, already_closed=True)
            now = self._clock.now()
            if period < contract.start_period:
                raise PeriodLocked(
                    f"period {period} is before the contract start {contract.contract_start.isoformat()}",
                    period=str(period),
                )
            if now < period.end(contract.timezone):
                raise PeriodLocked(
                    f"period {period} has not ended yet; it ends {period.end(contract.timezone).isoformat()}",
                    period=str(period),
                )
            earlier = first_open_period(contract.start_period, period, already)
            if earlier is not None:
                raise EarlierPeriodOpen(
                    f"period {period} cannot close before {earlier}: periods close in order from the "
                    f"contract start, and {earlier} is still open",
                    period=str(period),
                    open_period=str(earlier),
                )
            closed = ClosedPeriod(
                tenant_id=tenant_id,
                period=str(period),
                closed_at=now,
                closed_by=actor,
                revision=state.revision,
                contract=document_of(contract),
                settings=state.settings,
                high_water=await self._usage.high_water(tenant_id, str(period)),
            )
            await tx.record_close(closed)
            await tx.enqueue(period_closed(closed))
        snapshot = await self._dashboard.compute(tenant_id, period)
        await self._store.save_snapshots([snapshot], {}, "")
        return CloseResult(closed, already_closed=False)

    async def closed(self, tenant_id: str, period: Period) -> ClosedPeriod:
        closed = await self._store.closed_period(tenant_id, str(period))
        if closed is None:
            raise NotFound(f"period {period} of tenant {tenant_id!r} is not closed", period=str(period))
        return closed

    async def closed_periods(self, tenant_id: str) -> list[str]:
        return await self._store.closed_periods(tenant_id)

    def due_periods(self, state: TenantState, closed: set[str]) -> list[Period]:
        """Periods of the tenant whose end plus grace has passed since it was onboarded."""
        if state.contract is None or state.onboarded_at is None:
            return []
        contract = load_contract(state.contract, f"stored contract of {state.tenant_id}")
        now = self._clock.now()
        grace = timedelta(hours=state.settings.grace_hours)
        due: list[Period] = []
        period = max(contract.start_period, period_of(state.onboarded_at, contract.timezone).previous())
        while period.end(contract.timezone) + grace <= now:
            if str(period) not in closed and period.end(contract.timezone) >= state.onboarded_at:
                due.append(period)
            period = period.next()
        return due

    async def close_due(self) -> list[ClosedPeriod]:
        """One scheduler pass over every tenant."""
        done: list[ClosedPeriod] = []
        for state in await self._store.tenants():
            try:
                closed = set(await self._store.closed_periods(state.tenant_id))
                for period in self.due_periods(state, closed):
                    result = await self.close(state.tenant_id, period, actor="scheduler")
                    if not result.already_closed:
                        log.info("closed %s %s", state.tenant_id, period)
                        done.append(result.closed)
            except EarlierPeriodOpen as waiting:  # history not closed yet: a person has to decide
                log.warning("tenant %s: %s", state.tenant_id, waiting.message)
            except Exception:  # one tenant's problem must not keep the others' periods open
                log.exception("closing the due periods of %s failed", state.tenant_id)
        return done

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.close_due()
            except Exception:  # the scheduler must outlive one bad tenant; the error is logged
                log.exception("period close pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
