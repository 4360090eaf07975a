"""Synthetic usage traffic: CloudEvents in both Kafka content modes, produced in record batches.

Used by the benchmark, the integration tests and demos; producing through aiokafka's batch API
keeps the generator far faster than the service it feeds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.partitioner import DefaultPartitioner

Header = tuple[str, bytes]
STRUCTURED_HEADERS: tuple[Header, ...] = (("content-type", b"application/cloudevents+json"),)
BINARY_CONTENT_TYPE: Header = ("content-type", b"application/json")


@dataclass(frozen=True, slots=True)
class Message:
    key: bytes | None
    value: bytes | None
    headers: tuple[Header, ...] = STRUCTURED_HEADERS


def usage_cloudevent(
    event_id: str,
    *,
    tenant: str,
    site: str,
    category: str = "standard",
    quantity: str = "1",
    time: str = "2026-03-14T10:22:31.482Z",
    source: str = "urn:platform:us:pipeline-7",
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": source,
        "type": "ai.platform.unit.processed.v1",
        "time": time,
        "datacontenttype": "application/json",
        "data": {"tenant_id": tenant, "site_id": site, "category": category, "quantity": quantity},
    }


def structured_message(event: dict[str, Any]) -> Message:
    data = event.get("data") or {}
    key = f"{data.get('tenant_id', '')}/{data.get('site_id', '')}".encode()
    return Message(key, json.dumps(event, separators=(",", ":")).encode(), STRUCTURED_HEADERS)


def binary_message(event: dict[str, Any]) -> Message:
    data = event.get("data") or {}
    headers = tuple(
        (f"ce_{name}", str(value).encode())
        for name, value in event.items()
        if name not in ("data", "datacontenttype")
    )
    key = f"{data.get('tenant_id', '')}/{data.get('site_id', '')}".encode()
    return Message(
        key,
        json.dumps(data, separators=(",", ":")).encode(),
        (*headers, ("content-type", b"application/json")),
    )


async def produce(producer: Any, topic: str, messages: Iterable[Message]) -> int:
    """Send every message in batches of the producer's max_batch_size, to the partition Kafka's
    default partitioner gives its key (as the platform's producers do, so one tenant-site's events
    stay on one partition); messages without a key go round-robin."""
    partitions: Sequence[int] = sorted(await producer.partitions_for(topic))
    partition_of = DefaultPartitioner()
    by_key: dict[bytes, int] = {}
    batches: dict[int, Any] = {}
    pending = []
    sent = 0
    for index, message in enumerate(messages):
        if message.key is None:
            partition = partitions[index % len(partitions)]
        else:
            partition = by_key.get(message.key, -1)
            if partition < 0:
                partition = by_key[message.key] = partition_of(message.key, partitions, partitions)
        batch = batches.get(partition)
        if batch is None:
            batch = batches[partition] = producer.create_batch()
        if not _append(batch, message):
            pending.append(await producer.send_batch(batch, topic, partition=partition))
            batch = batches[partition] = producer.create_batch()
            if not _append(batch, message):
                raise ValueError(f"message {index} does not fit in an empty record batch")
        sent += 1
        if len(pending) >= 64:
            for future in pending:
                await future
            pending.clear()
    for partition, batch in batches.items():
        if batch.record_count():
            pending.append(await producer.send_batch(batch, topic, partition=partition))
    for future in pending:
        await future
    return sent


def _append(batch: Any, message: Message) -> bool:
    """Add the message to the record batch; False when the batch is full."""
    metadata = batch.append(
        key=message.key, value=message.value, timestamp=None, headers=list(message.headers)
    )
    return metadata is not None


SYNTHETIC_CATEGORIES = ("standard", "expedited", "review")
SYNTHETIC_QUANTITIES = ("1", "0.5", "1.25", "2.000001")
_STRUCTURED_TEMPLATE = (
    '{"specversion":"1.0","id":"%s","source":"%s","type":"ai.platform.unit.processed.v1",'
    '"time":"2026-03-%02dT10:22:31.482Z","datacontenttype":"application/json",'
    '"data":{"tenant_id":"%s","site_id":"%s","category":"%s","quantity":"%s"}}'
)
_BINARY_TEMPLATE = '{"tenant_id":"%s","site_id":"%s","category":"%s","quantity":"%s"}'


@dataclass(frozen=True, slots=True)
class SyntheticUsage:
    """A reproducible stream of distinct events: event n is fully decided by n, so a test can
    recompute the exact totals it must find, and re-send any event as a duplicate."""

    id_prefix: str
    tenants: tuple[str, ...]
    sites: int = 20
    source: str = "urn:synthetic:pipeline"

    def fields(self, n: int) -> tuple[str, str, str, str]:
        """(tenant, site, category, quantity) of event n; every tenant has all ``sites`` sites (site
        n % sites alone would pair each tenant with only some of them, and put the whole stream on a
        handful of keys, so of partitions)."""
        tenants = len(self.tenants)
        return (
            self.tenants[n % tenants],
            f"s{n // tenants % self.sites:02d}",
            SYNTHETIC_CATEGORIES[n % len(SYNTHETIC_CATEGORIES)],
            SYNTHETIC_QUANTITIES[n % len(SYNTHETIC_QUANTITIES)],
        )

    def message(self, n: int) -> Message:
        """Event n, in binary content mode for even n and structured mode for odd n."""
        tenant, site, category, quantity = self.fields(n)
        key = f"{tenant}/{site}".encode()
        event_id, day = f"{self.id_prefix}-{n}", 1 + n % 28
        if n % 2:
            value = _STRUCTURED_TEMPLATE % (event_id, self.source, day, tenant, site, category, quantity)
            return Message(key, value.encode(), STRUCTURED_HEADERS)
        headers = (
            ("ce_specversion", b"1.0"),
            ("ce_id", event_id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", b"ai.platform.unit.processed.v1"),
            ("ce_time", f"2026-03-{day:02d}T10:22:31.482Z".encode()),
            BINARY_CONTENT_TYPE,
        )
        return Message(key, (_BINARY_TEMPLATE % (tenant, site, category, quantity)).encode(), headers)

    def messages(self, numbers: Iterable[int]) -> Iterator[Message]:
        return (self.message(n) for n in numbers)
