"""In-memory work on one batch: sum the newly recorded events per aggregate key.

Only events that the ledger newly recorded reach ``aggregate`` (repeats inside a batch included),
so a duplicate can never be counted twice, whichever path or partition it came on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ingest.events import AggregateKey, UsageEvent


@dataclass(slots=True)
class Tally:
    quantity: Decimal
    events: int


@dataclass(frozen=True, slots=True)
class AggregateTotal:
    """The running total of one (tenant, site, category, period) after a batch was applied."""

    tenant: str
    site: str
    category: str
    period: str
    quantity: Decimal
    events: int


def aggregate(events: Iterable[UsageEvent]) -> dict[AggregateKey, Tally]:
    tallies: dict[AggregateKey, Tally] = {}
    for event in events:
        key = (event.tenant, event.site, event.category, event.period)
        tally = tallies.get(key)
        if tally is None:
            tallies[key] = Tally(event.quantity, 1)
        else:
            tally.quantity += event.quantity
            tally.events += 1
    return tallies
