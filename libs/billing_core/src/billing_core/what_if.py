"""What-if: the effect of a proposed pricing version on a site's invoices."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .contract import Contract, PricingVersion
from .ledger import BillingLedger
from .periods import Period
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
    site totals per site and period. Caps and billed-to-date carry across the periods."""
    raise NotImplementedError
