"""The one pipeline both paths feed: decode, check, record, count.

Kafka batches and HTTP requests differ only in where bad events go (the DLQ, through the outbox,
or the HTTP response) and in the partition positions stored with the batch.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ingest import exact_json
from ingest.checking import EventChecker
from ingest.cloudevents_decoding import decode_http_body, decode_kafka_record
from ingest.events import UsageEvent
from ingest.ledger_port import LedgerBatch, LedgerOutcome, PartitionPosition, UsageLedger
from ingest.metrics import IngestMetrics
from ingest.outbox_messages import KafkaOrigin, OutboxMessage, dead_letter
from ingest.rejections import InvalidEvent, Reason
from ingest.typed_decoding import TypedDecoder

Status = Literal["accepted", "duplicate", "rejected"]
PREPARE_SLICE = 500
"""Records decoded between two pauses of a batch's preparation (a few milliseconds of work)."""


class KafkaRecord(Protocol):
    """The fields of aiokafka's ConsumerRecord that the pipeline reads."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class EventResult:
    index: int
    status: Status
    source: str | None = None
    id: str | None = None
    reason: str | None = None
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "status": self.status}
        for name in ("source", "id", "reason", "detail"):
            value = getattr(self, name)
            if value is not None:
                body[name] = value
        return body


@dataclass(frozen=True, slots=True)
class KafkaBatchReport:
    consumed: int
    accepted: int
    duplicates: int
    rejected: dict[Reason, int]
    positions: list[PartitionPosition]


@dataclass(frozen=True, slots=True)
class PreparedKafkaBatch:
    batch: LedgerBatch
    consumed: int
    checked: int
    rejected: dict[Reason, int]
    seconds: float


def _positions(records: Sequence[KafkaRecord]) -> list[PartitionPosition]:
    highest: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        if record.offset >= highest.get(key, -1):
            highest[key] = record.offset
    return [
        PartitionPosition(topic, partition, offset + 1)
        for (topic, partition), offset in sorted(highest.items())
    ]


class Intake:
    def __init__(
        self,
        checker: EventChecker,
        ledger: UsageLedger,
        metrics: IngestMetrics,
        *,
        dlq_topic: str,
        max_event_bytes: int,
    ) -> None:
        self._checker = checker
        self._ledger = ledger
        self._metrics = metrics
        self._dlq_topic = dlq_topic
        self._max_event_bytes = max_event_bytes
        self._typed = TypedDecoder(checker, max_event_bytes)

    async def prepare_kafka(
        self,
        records: Sequence[KafkaRecord],
        consumer_group: str,
        positions: Sequence[PartitionPosition] | None = None,
    ) -> PreparedKafkaBatch:
        """The CPU part of a batch (decode, check, dead letters), kept apart so the consumer can
        prepare the next batch while the database writes this one. ``positions``, when the caller
        knows them, are the next offset per partition after the records (else read from them).

        It hands the event loop back every ``PREPARE_SLICE`` records: the write of the previous
        batch is a chain of statements, and each answer can only be read and the next statement
        sent while this work is paused. Without the pauses the two stages would barely overlap.
        """
        events: list[UsageEvent] = []
        dead: list[OutboxMessage] = []
        rejected: Counter[Reason] = Counter()
        seconds = 0.0
        for start in range(0, len(records), PREPARE_SLICE):
            if start:
                await asyncio.sleep(0)
            began = time.perf_counter()
            self._prepare_slice(records[start : start + PREPARE_SLICE], events, dead, rejected)
            seconds += time.perf_counter() - began
        batch = LedgerBatch(
            events,
            dead_letters=dead,
            positions=_positions(records) if positions is None else list(positions),
            consumer_group=consumer_group,
        )
        return PreparedKafkaBatch(batch, len(records), len(events), dict(rejected), seconds)

    def _prepare_slice(
        self,
        records: Sequence[KafkaRecord],
        events: list[UsageEvent],
        dead: list[OutboxMessage],
        rejected: Counter[Reason],
    ) -> None:
        check = self._checker.check
        limit = self._max_event_bytes
        typed = self._typed.decode
        for record in records:
            event = typed(record.value, record.headers)
            if event is not None:
                events.append(event)
                continue
            try:
                decoded = decode_kafka_record(record.value, record.headers, limit)
                events.append(check(decoded.envelope, decoded.payload))
            except InvalidEvent as error:
                rejected[error.reason] += 1
                origin = KafkaOrigin(record.topic, record.partition, record.offset)
                dead.append(
                    dead_letter(self._dlq_topic, record.key, record.value, record.headers, error, origin)
                )

    async def record_kafka(self, prepared: PreparedKafkaBatch) -> KafkaBatchReport:
        """Write a prepared batch in one transaction (safe to repeat: the ledger is idempotent)."""
        started = time.perf_counter()
        outcome = await self._ledger.record(prepared.batch)
        accepted = len(outcome.fresh)
        duplicates = prepared.checked - accepted
        self._metrics.record_batch(
            "kafka",
            consumed=prepared.consumed,
            accepted=accepted,
            duplicates=duplicates,
            rejected=prepared.rejected,
            seconds=prepared.seconds + time.perf_counter() - started,
        )
        return KafkaBatchReport(
            prepared.consumed, accepted, duplicates, prepared.rejected, list(prepared.batch.positions)
        )

    async def from_kafka(self, records: Sequence[KafkaRecord], consumer_group: str) -> KafkaBatchReport:
        """Record one fetched batch; bad records become dead letters in the same transaction."""
        return await self.record_kafka(await self.prepare_kafka(records, consumer_group))

    async def from_http(self, body: bytes, content_type: str | None) -> list[EventResult]:
        """Record the events of one request; the answer says, per event, what became of it.

        Raises InvalidEvent when the body as a whole is unusable (wrong media type, not JSON).
        """
        started = time.perf_counter()
        documents, is_batch = decode_http_body(body, content_type)
        results: list[EventResult | None] = [None] * len(documents)
        checked: list[tuple[int, UsageEvent]] = []
        rejected: Counter[Reason] = Counter()
        for index, document in enumerate(documents):
            try:
                if not isinstance(document, dict):
                    raise InvalidEvent(Reason.NOT_AN_OBJECT, f"event [{index}] is not a JSON object")
                payload = exact_json.dump_bytes(document) if is_batch else body
                if len(payload) > self._max_event_bytes:
                    raise InvalidEvent(
                        Reason.TOO_LARGE,
                        f"event is {len(payload)} bytes, the limit is {self._max_event_bytes}",
                    )
                checked.append((index, self._checker.check(document, payload)))
            except InvalidEvent as error:
                rejected[error.reason] += 1
                source, event_id = _identity(document)
                results[index] = EventResult(
                    index, "rejected", source, event_id, error.reason.value, error.detail
                )
        outcome: LedgerOutcome = await self._ledger.record(LedgerBatch([event for _, event in checked]))
        new_keys = {event.key for event in outcome.fresh}
        for index, event in checked:
            key = (event.source, event.id)
            if key in new_keys:
                new_keys.discard(key)
                status: Status = "accepted"
            else:
                status = "duplicate"
            results[index] = EventResult(index, status, event.source, event.id)
        final = [result for result in results if result is not None]
        accepted = sum(1 for result in final if result.status == "accepted")
        self._metrics.record_batch(
            "http",
            consumed=len(documents),
            accepted=accepted,
            duplicates=len(checked) - accepted,
            rejected=rejected,
            seconds=time.perf_counter() - started,
        )
        return final


def _identity(document: object) -> tuple[str | None, str | None]:
    if not isinstance(document, dict):
        return None, None
    source, event_id = document.get("source"), document.get("id")
    return (source if isinstance(source, str) else None, event_id if isinstance(event_id, str) else None)
