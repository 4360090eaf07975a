"""Synthetic usage traffic: CloudEvents in both Kafka content modes, produced in record batches.

Used by the benchmark, the integration tests and demos; producing through aiokafka's batch API
keeps the generator far faster than the service it feeds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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
    """Send every message, round-robin over the partitions, in batches of the producer's max_batch_size."""
    partitions: Sequence[int] = sorted(await producer.partitions_for(topic))
    batches: dict[int, Any] = {}
    pending = []
    sent = 0
    for index, message in enumerate(messages):
        partition = partitions[index % len(partitions)]
        batch = batches.get(partition)
        if batch is None:
            batch = batches[partition] = producer.create_batch()
        if (
            batch.append(key=message.key, value=message.value, timestamp=None, headers=list(message.headers))
            is None
        ):
            pending.append(await producer.send_batch(batch, topic, partition=partition))
            batch = batches[partition] = producer.create_batch()
            if (
                batch.append(
                    key=message.key, value=message.value, timestamp=None, headers=list(message.headers)
                )
                is None
            ):
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
    metadata = batch.append(
        key=message.key, value=message.value, timestamp=None, headers=list(message.headers)
    )
    return metadata is not None
