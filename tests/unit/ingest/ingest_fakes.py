"""In-memory stand-ins for the ingest ports, and builders of test events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ingest.aggregation import AggregateTotal, Tally, aggregate
from ingest.events import AggregateKey, EventKey, UsageEvent
from ingest.ledger_port import LedgerBatch, LedgerOutcome
from ingest.outbox_messages import OutboxMessage, aggregated_notifications

AGGREGATED_TOPIC = "usage.aggregated.v1"


@dataclass
class MemoryLedger:
    """Keeps what the PostgreSQL ledger keeps, with the same all-or-nothing batch semantics."""

    keys: set[EventKey] = field(default_factory=set)
    raw: list[UsageEvent] = field(default_factory=list)
    aggregates: dict[AggregateKey, Tally] = field(default_factory=dict)
    outbox: list[OutboxMessage] = field(default_factory=list)
    offsets: dict[tuple[str, str, int], int] = field(default_factory=dict)
    fail_next: bool = False

    async def record(self, batch: LedgerBatch) -> LedgerOutcome:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("database went away")
        fresh = []
        for event in batch.events:
            if event.key not in self.keys:
                self.keys.add(event.key)
                fresh.append(event)
        totals = []
        for key, tally in aggregate(fresh).items():
            current = self.aggregates.setdefault(key, Tally(tally.quantity * 0, 0))
            current.quantity += tally.quantity
            current.events += tally.events
            totals.append(AggregateTotal(*key, current.quantity, current.events))
        self.raw.extend(fresh)
        self.outbox.extend(aggregated_notifications(totals, AGGREGATED_TOPIC))
        self.outbox.extend(batch.dead_letters)
        for position in batch.positions:
            slot = (batch.consumer_group, position.topic, position.partition)
            self.offsets[slot] = max(self.offsets.get(slot, 0), position.next_offset)
        return LedgerOutcome(fresh, totals)

    async def positions(self, consumer_group: str, topic: str) -> dict[int, int]:
        return {p: o for (g, t, p), o in self.offsets.items() if g == consumer_group and t == topic}


@dataclass(frozen=True)
class Record:
    """Shaped like aiokafka's ConsumerRecord for the fields the pipeline reads."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def usage_event(
    number: int = 1,
    *,
    tenant: str = "acme",
    site: str = "nyc-01",
    category: str | None = "standard",
    quantity: Any = "1",
    time: str = "2026-03-14T10:22:31.482Z",
    source: str = "urn:platform:us:pipeline-7",
    **overrides: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {"tenant_id": tenant, "site_id": site}
    if category is not None:
        data["category"] = category
    if quantity is not None:
        data["quantity"] = quantity
    event = {
        "specversion": "1.0",
        "id": f"evt-{number}",
        "source": source,
        "type": "ai.platform.unit.processed.v1",
        "time": time,
        "datacontenttype": "application/json",
        "data": data,
    }
    event.update(overrides)
    return {name: value for name, value in event.items() if value is not _DROP}


_DROP = object()
DROP: Any = _DROP
"""Pass as an attribute override to leave that attribute out."""


def structured(
    event: dict[str, Any], topic: str = "usage.events.v1", partition: int = 0, offset: int = 0
) -> Record:
    value = json.dumps(event).encode()
    return Record(
        topic, partition, offset, b"acme/nyc-01", value, (("content-type", b"application/cloudevents+json"),)
    )


def binary(
    event: dict[str, Any], topic: str = "usage.events.v1", partition: int = 0, offset: int = 0
) -> Record:
    headers = [
        (f"ce_{name}", str(value).encode())
        for name, value in event.items()
        if name not in ("data", "datacontenttype")
    ]
    headers.append(("content-type", b"application/json"))
    return Record(
        topic, partition, offset, b"acme/nyc-01", json.dumps(event["data"]).encode(), tuple(headers)
    )
