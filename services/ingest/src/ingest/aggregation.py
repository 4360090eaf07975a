"""In-memory work on one batch: drop repeats inside it, then sum the new events per aggregate key.

Only events that the ledger newly recorded reach ``aggregate``, so a duplicate can never be counted
twice, whichever path or partition it came on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ingest.events import AggregateKey, EventKey, UsageEvent


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


def first_occurrences(events: Sequence[UsageEvent]) -> tuple[list[UsageEvent], list[int]]:
    """The events with a key not seen earlier in the batch, and the positions of the repeats."""
    seen: set[EventKey] = set()
    unique: list[UsageEvent] = []
    repeats: list[int] = []
    for position, event in enumerate(events):
        key = (event.source, event.id)
        if key in seen:
            repeats.append(position)
        else:
            seen.add(key)
            unique.append(event)
    return unique, repeats


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
