"""Kafka records waiting in the outbox: usage.aggregated.v1 notifications and dead letters.

Both are written in the same transaction as the work that caused them, and a relay publishes them
afterwards, so a crash between commit and publish loses nothing (publication is at least once).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from billing_core.money import format_quantity
from billing_runtime.cloudevents_codec import ContentMode, encode_event, make_event
from ingest.aggregation import AggregateTotal
from ingest.rejections import InvalidEvent

AGGREGATED_TYPE = "billing.usage.aggregated.v1"
AGGREGATED_SOURCE = "urn:billing:ingest"
Headers = tuple[tuple[str, bytes], ...]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers = ()


@dataclass(frozen=True, slots=True)
class KafkaOrigin:
    topic: str
    partition: int
    offset: int


def aggregated_notifications(
    totals: Iterable[AggregateTotal],
    topic: str,
    now: datetime | None = None,
    rebuilt: Collection[tuple[str, str]] = (),
) -> list[OutboxMessage]:
    """One structured-mode CloudEvent per touched (tenant, period), carrying running totals.

    A (tenant, period) in ``rebuilt`` is announced even without totals, marked ``rebuilt``: its
    lines are then its whole usage (a time-zone change moved events between periods)."""
    grouped: dict[tuple[str, str], list[AggregateTotal]] = defaultdict(list)
    for slot in rebuilt:
        grouped[slot] = []
    for total in totals:
        grouped[(total.tenant, total.period)].append(total)
    messages = []
    for (tenant, period), rows in sorted(grouped.items()):
        marker = {"rebuilt": True} if (tenant, period) in rebuilt else {}
        event = make_event(
            type=AGGREGATED_TYPE,
            source=AGGREGATED_SOURCE,
            subject=f"{tenant}/{period}",
            time=now,
            data={
                "tenant": tenant,
                "period": period,
                **marker,
                "lines": [
                    {
                        "site": row.site,
                        "category": row.category,
                        "quantity": format_quantity(row.quantity),
                        "events": row.events,
                    }
                    for row in sorted(rows, key=lambda row: (row.site, row.category))
                ],
            },
        )
        message = encode_event(event, mode=ContentMode.STRUCTURED, key=tenant.encode("utf-8"))
        key = message.key.encode() if isinstance(message.key, str) else message.key
        messages.append(OutboxMessage(topic, key, message.value, tuple(message.headers.items())))
    return messages


def dead_letter(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    error: InvalidEvent,
    origin: KafkaOrigin | None,
    now: datetime | None = None,
) -> OutboxMessage:
    """The original record (key, value bytes, headers) plus the dlq_* reason headers."""
    reason: list[tuple[str, bytes]] = [
        ("dlq_reason", error.reason.value.encode()),
        ("dlq_detail", error.detail.encode("utf-8", "replace")[:2000]),
        ("dlq_source", b"kafka" if origin else b"http"),
        ("dlq_failed_at", (now or datetime.now(UTC)).isoformat().encode()),
    ]
    if origin is not None:
        reason += [
            ("dlq_source_topic", origin.topic.encode()),
            ("dlq_source_partition", str(origin.partition).encode()),
            ("dlq_source_offset", str(origin.offset).encode()),
        ]
    kept = tuple((name, raw) for name, raw in headers if not name.startswith("dlq_"))
    return OutboxMessage(topic=topic, key=key, value=value, headers=kept + tuple(reason))
