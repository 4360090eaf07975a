"""What-if preview of a proposed site version over recently closed periods.

The proposed version is treated as if it had been in force from the first previewed period
(later versions already in the contract still apply on top of it), and billing_core rates
the periods twice, carrying caps from everything billed before them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billing_core import Period, format_amount, period_of, rate_run_with_ledger, what_if
from billing_core.money import exact_add
from rating.clock import Clock
from rating.contract_documents import (
    document_of,
    load_contract,
    site_version,
    stored_contract,
    with_site_version,
)
from rating.errors import InvalidInput
from rating.issued_invoices import ledger_before
from rating.ports import IssuedInvoices, RatingStore, UsageReader
from rating.usage_view import usage_by_period

MAX_PREVIEW_PERIODS = 24


class PricingPreview:
    def __init__(self, store: RatingStore, usage: UsageReader, issued: IssuedInvoices, clock: Clock) -> None:
        self._store = store
        self._usage = usage
        self._issued = issued
        self._clock = clock

    async def _periods(self, tenant_id: str, start: Period, current: Period, count: int) -> list[Period]:
        """The last ``count`` closed periods; without any, the last ``count`` ended periods."""
        closed = [Period.parse(name) for name in await self._store.closed_periods(tenant_id)]
        pool = closed or [start.plus(i) for i in range(max(0, current.months_since(start)))]
        return sorted(pool)[-count:]

    async def preview(
        self, tenant_id: str, site_id: str, version: Mapping[str, Any], count: int
    ) -> dict[str, Any]:
        if not 1 <= count <= MAX_PREVIEW_PERIODS:
            raise InvalidInput(f"periods must be from 1 to {MAX_PREVIEW_PERIODS}", path="periods")
        state, contract = stored_contract(await self._store.tenant(tenant_id), tenant_id)
        current = period_of(self._clock.now(), contract.timezone)
        periods = await self._periods(tenant_id, contract.start_period, current, count)
        base = {
            "tenant": tenant_id,
            "site": site_id,
            "revision": state.revision,
            "currency": contract.currency,
        }
        if not periods:
            return {
                **base,
                "periods": [],
                "rows": [],
                "total_difference": format_amount(exact_add(), contract.money),
            }
        first = periods[0]
        proposed_doc = with_site_version(
            document_of(contract), site_id, {**version, "effective_from": first.first_day.isoformat()}
        )
        proposed_contract = load_contract(proposed_doc, f"proposed version for {tenant_id}/{site_id}")
        proposed = site_version(proposed_contract, site_id, first.first_day)
        usage = usage_by_period(await self._usage.usage(tenant_id, str(periods[-1])))
        ledger = ledger_before(await self._issued.issued(tenant_id), first)
        if first > contract.start_period:
            _, ledger = rate_run_with_ledger(contract, usage, first.previous(), ledger)
        rows = what_if(contract, site_id, proposed, periods, usage, ledger)
        money = contract.money
        return {
            **base,
            "assumed_effective_from": first.first_day.isoformat(),
            "periods": [str(period) for period in periods],
            "rows": [
                {
                    "site": row.site,
                    "period": str(row.period),
                    "current": format_amount(row.current, money),
                    "proposed": format_amount(row.proposed, money),
                    "difference": format_amount(row.difference, money),
                }
                for row in rows
            ],
            "total_difference": format_amount(exact_add(*(row.difference for row in rows)), money),
        }
