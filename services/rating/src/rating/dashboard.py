"""Running charges: each tenant-period rated by billing_core exactly as its invoice would be.

Figures are recomputed from the stored usage aggregates (never from counters kept here), as
the run from the contract start that ``billing run`` makes, so caps carry as they do there.
"""

from __future__ import annotations

import json
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
)
from rating.clock import Clock
from rating.dashboard_cache import DashboardCache
from rating.errors import NotFound
from rating.incremental_run import RatedPrefix, rate_period, rate_prefix
from rating.issued_invoices import ledger_before
from rating.ports import DashboardReads, IssuedInvoices, RatingStore, UsageReader, high_water_of, usage_mark
from rating.records import DashboardSnapshot, RatingBasis
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


def body_json(body: dict[str, Any]) -> str:
    """A computed body as JSON text, as a JSON response encodes it (the body holds JSON data only:
    amounts and quantities are strings already)."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


class DashboardService:
    """Running charges per tenant-period, each rated exactly as the period's next invoice would be.

    Only the requested period is rated on every refresh; the run through the periods before it is
    reused while its basis (revision, issued invoices, earlier aggregates) is unchanged.
    """

    def __init__(
        self,
        store: RatingStore,
        usage: UsageReader,
        issued: IssuedInvoices,
        reads: DashboardReads,
        clock: Clock,
        cache: DashboardCache | None = None,
    ) -> None:
        self._store = store
        self._usage = usage
        self._issued = issued
        self._reads = reads
        self._clock = clock
        self._cache = cache or DashboardCache()

    async def compute(self, tenant_id: str, period: Period) -> DashboardSnapshot:
        """Rate one tenant-period now from the stored aggregates."""
        inputs = await self._reads.refresh_inputs(tenant_id, str(period))
        state, contract = self._cache.contract(inputs.state, tenant_id)
        now = self._clock.now()
        if period < contract.start_period:
            raise NotFound(
                f"period {period} is before the contract start {contract.contract_start.isoformat()}",
                period=str(period),
            )
        current = inputs.usage
        high_water = high_water_of(current.rows)
        status = (
            "closed"
            if inputs.closed
            else ("open" if period_of(now, contract.timezone) <= period else "ended")
        )
        basis = RatingBasis(inputs.issued_invoices, current.earlier)
        body: dict[str, Any]
        try:
            prefix = await self._prefix(tenant_id, period, contract, state.revision, basis)
            basis = prefix.basis
            invoice = rate_period(contract, prefix, usage_by_period(current.rows))
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
        return DashboardSnapshot(tenant_id, str(period), now, state.revision, body, basis)

    async def _prefix(
        self, tenant_id: str, period: Period, contract: Contract, revision: int, basis: RatingBasis
    ) -> RatedPrefix:
        """The run through the period before ``period``, from the cache when its basis is unchanged."""
        cached = self._cache.prefixes.get((tenant_id, str(period), revision, basis))
        if cached is not None:
            return cached
        invoices = self._cache.issued(tenant_id, basis.issued_invoices)
        if invoices is None:
            invoices = await self._issued.issued(tenant_id)
            self._cache.keep_issued(tenant_id, invoices)
        earlier = await self._usage.usage_before(tenant_id, str(period))
        # Keyed by what was actually read, which may be newer than the basis asked about.
        read = RatingBasis(len(invoices), usage_mark(earlier))
        ledger = ledger_before(invoices, period)
        prefix = rate_prefix(contract, usage_by_period(earlier), period, ledger, read)
        self._cache.prefixes.put((tenant_id, str(period), revision, read), prefix)
        return prefix

    async def basis(self, tenant_id: str, period: Period) -> RatingBasis:
        """The basis a figure for the period would be computed from now."""
        return (await self._reads.view_inputs(tenant_id, str(period))).basis

    async def view(self, tenant_id: str, period: Period | None) -> str:
        """The stored snapshot as JSON text, recomputed first when it no longer rests on the current
        configuration, issued invoices or earlier usage (none of which the usage consumer hears of).

        A current snapshot is answered with its stored text as it is: views are polled far more
        often than figures change, and decoding and re-encoding the body was most of a view's CPU."""
        if period is None:
            _, contract = self._cache.contract(await self._store.tenant(tenant_id), tenant_id)
            period = period_of(self._clock.now(), contract.timezone)
        inputs = await self._reads.view_inputs(tenant_id, str(period))
        state, _ = self._cache.contract(inputs.state, tenant_id)
        stored = inputs.snapshot
        if stored is not None and stored.revision == state.revision and stored.basis == inputs.basis:
            return stored.body_json
        snapshot = await self.compute(tenant_id, period)
        await self._store.save_snapshots([snapshot], {}, "")
        return body_json(snapshot.body)
