"""What-if: the effect of a proposed pricing version on a site's invoices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from .contract import Contract, PricingVersion
from .ledger import BillingLedger, record_invoice
from .periods import Period
from .rating import rate_invoice
from .usage import UsageByPeriod

__all__ = ["WhatIfRow", "what_if"]


@dataclass(frozen=True)
class WhatIfRow:
    site: str
    period: Period
    current: Decimal
    proposed: Decimal

    @property
    def difference(self) -> Decimal:
        return self.proposed - self.current


def what_if(
    contract: Contract,
    site_id: str,
    proposed: PricingVersion,
    periods: Iterable[Period],
    usage_by_period: UsageByPeriod,
    ledger: BillingLedger | None = None,
) -> list[WhatIfRow]:
    """Rate the periods in order twice — as contracted and with ``proposed`` added to the
    site's pricing (replacing a version with the same effective_from) — and compare the
    site totals per site and period. Caps and billed-to-date carry across the periods.

    Rows cover every site that appears on either side, so effects on no other site show
    as zero differences. Periods already in ``ledger`` cannot be re-priced and are refused.
    """
    site = contract.site(site_id)
    if site is None:
        raise KeyError(f"unknown site {site_id!r} for tenant {contract.tenant}")
    pricing = [*(v for v in site.pricing if v.effective_from != proposed.effective_from), proposed]
    changed_site = replace(site, pricing=tuple(sorted(pricing, key=lambda v: v.effective_from)))
    changed = replace(contract, sites=tuple(changed_site if s.id == site_id else s for s in contract.sites))
    ordered = sorted(set(periods))
    current = _site_totals(contract, ordered, usage_by_period, ledger)
    future = _site_totals(changed, ordered, usage_by_period, ledger)
    return [
        WhatIfRow(
            site, period, current.get((site, period), Decimal(0)), future.get((site, period), Decimal(0))
        )
        for site, period in sorted(set(current) | set(future), key=lambda key: (key[1], key[0]))
    ]


def _site_totals(
    contract: Contract, periods: list[Period], usage: UsageByPeriod, ledger: BillingLedger | None
) -> dict[tuple[str, Period], Decimal]:
    state = ledger if ledger is not None else BillingLedger()
    totals: dict[tuple[str, Period], Decimal] = {}
    for period in periods:
        invoice = rate_invoice(contract, period, usage, state)
        state = record_invoice(state, invoice)
        for section in invoice.sites:
            totals[(section.site, period)] = section.total
    return totals
