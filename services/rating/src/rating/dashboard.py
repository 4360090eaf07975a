"""Running charges: each tenant-period rated by billing_core exactly as its invoice would be.

Figures are recomputed from the stored usage aggregates (never from counters kept here),
rating every period from the contract start so caps carry as they do in ``billing run``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from billing_core import (
    Contract,
    Invoice,
    Period,
    RatingError,
    SiteSection,
    cap_projection,
    format_amount,
    invoice_to_data,
    minimum_progress,
    period_of,
    rate_run_with_ledger,
)
from rating.clock import Clock
from rating.contract_documents import stored_contract
from rating.errors import NotFound
from rating.issued_invoices import ledger_before
from rating.ports import IssuedInvoices, RatingStore, UsageReader
from rating.records import DashboardSnapshot, TenantState
from rating.usage_view import usage_by_period


def _minimum_progress(contract: Contract, section: SiteSection, period: Period) -> dict[str, Any] | None:
    progress = minimum_progress(contract, section, period)
    if progress is None:
        return None
    money = contract.money
    return {
        "minimum": format_amount(progress.minimum, money),
        "due": format_amount(progress.due, money),
        "eligible": format_amount(progress.eligible, money),
        "shortfall": format_amount(progress.shortfall, money),
        "met": progress.met,
    }


def _projected_cap_date(
    contract: Contract, section: SiteSection, period: Period, now: datetime
) -> dict[str, Any] | None:
    """When the site reaches its annual cap if usage goes on at this period's pace so far."""
    projection = cap_projection(contract, section, period, now)
    if projection is None:
        return None
    return {
        "reached": projection.reached,
        "date": projection.date.isoformat() if projection.date is not None else None,
    }


def _site_view(
    contract: Contract, section: SiteSection, site_data: dict[str, Any], period: Period, now: datetime
) -> dict[str, Any]:
    return {
        **site_data,
        "minimum_progress": _minimum_progress(contract, section, period),
        "projected_cap": _projected_cap_date(contract, section, period, now),
    }


def dashboard_body(
    contract: Contract, invoice: Invoice, *, status: str, now: datetime, high_water: dict[str, Any]
) -> dict[str, Any]:
    invoice_data = invoice_to_data(invoice)
    site_data = {site["site"]: site for site in invoice_data.get("sites", [])}
    return {
        "tenant": invoice.tenant,
        "period": str(invoice.period),
        "status": status,
        "currency": invoice.currency,
        "total": invoice_data["total"],
        "sites": [
            _site_view(contract, section, site_data.get(section.site, {}), invoice.period, now)
            for section in invoice.sites
        ],
        "high_water": high_water,
        "invoice": invoice_data,
    }


class DashboardService:
    def __init__(self, store: RatingStore, usage: UsageReader, issued: IssuedInvoices, clock: Clock) -> None:
        self._store = store
        self._usage = usage
        self._issued = issued
        self._clock = clock

    async def compute(
        self, tenant_id: str, period: Period, state: TenantState | None = None
    ) -> DashboardSnapshot:
        """Rate one tenant-period now from the stored aggregates."""
        state, contract = stored_contract(state or await self._store.tenant(tenant_id), tenant_id)
        now = self._clock.now()
        if period < contract.start_period:
            raise NotFound(
                f"period {period} is before the contract start {contract.contract_start.isoformat()}",
                period=str(period),
            )
        high_water = await self._usage.high_water(tenant_id, str(period))
        rows = await self._usage.usage(tenant_id, str(period))
        closed = await self._store.closed_period(tenant_id, str(period))
        status = (
            "closed"
            if closed is not None
            else ("open" if period_of(now, contract.timezone) <= period else "ended")
        )
        body: dict[str, Any]
        try:
            ledger = ledger_before(await self._issued.issued(tenant_id), period)
            invoices, _ = rate_run_with_ledger(contract, usage_by_period(rows), period, ledger)
            invoice = next(inv for inv in reversed(invoices) if inv.period == period)
            body = dashboard_body(contract, invoice, status=status, now=now, high_water=high_water)
        except RatingError as exc:
            body = {
                "tenant": tenant_id,
                "period": str(period),
                "status": status,
                "error": {
                    "message": str(exc),
                    "site": exc.site,
                    "category": exc.category,
                    "period": exc.period,
                },
                "high_water": high_water,
            }
        body["computed_at"] = now.isoformat()
        body["revision"] = state.revision
        return DashboardSnapshot(tenant_id, str(period), now, state.revision, body)

    async def view(self, tenant_id: str, period: Period | None) -> dict[str, Any]:
        """The stored snapshot, recomputed first when the configuration changed since."""
        state, contract = stored_contract(await self._store.tenant(tenant_id), tenant_id)
        if period is None:
            period = period_of(self._clock.now(), contract.timezone)
        snapshot = await self._store.snapshot(tenant_id, str(period))
        if snapshot is None or snapshot.revision != state.revision:
            snapshot = await self.compute(tenant_id, period, state)
            await self._store.save_snapshots([snapshot], {}, "")
        return snapshot.body
