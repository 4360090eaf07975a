"""What the pipeline needs from storage: record one batch atomically (a port with two adapters).

The PostgreSQL adapter is ``ingest.pg_ledger``; tests of the pipeline use ``ingest.memory_ledger``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ingest.aggregation import AggregateTotal
from ingest.events import UsageEvent
from ingest.outbox_messages import OutboxMessage


@dataclass(frozen=True, slots=True)
class PartitionPosition:
    """The next offset to read from one partition, stored with the work that consumed the earlier ones."""

    topic: str
    partition: int
    next_offset: int


@dataclass(frozen=True, slots=True)
class LedgerBatch:
    events: Sequence[UsageEvent]
    """The ledger decides which are new; a (source, id) repeated inside the batch counts once."""
    dead_letters: Sequence[OutboxMessage] = ()
    positions: Sequence[PartitionPosition] = ()
    consumer_group: str = ""


@dataclass(frozen=True, slots=True)
class LedgerOutcome:
    fresh: Sequence[UsageEvent]
    """The events this batch recorded for the first time."""
    totals: list[AggregateTotal] = field(default_factory=list)


class UsageLedger(Protocol):
    async def record(self, batch: LedgerBatch) -> LedgerOutcome:
        """In one transaction: keep the new events, add them to the aggregates, queue the
        usage.aggregated.v1 notifications and dead letters in the outbox, store the positions."""
        ...

    async def positions(self, consumer_group: str, topic: str) -> dict[int, int]:
        """Stored next offsets of the group's partitions of ``topic``."""
        ...
