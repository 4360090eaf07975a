"""The consumer's two stages really overlap: batch k's write goes on while batch k+1 is taken from
the client and prepared."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from aiokafka import TopicPartition
from ingest_fakes import MemoryLedger, Record, binary, structured, usage_event
from prometheus_client import CollectorRegistry

from ingest.checking import EventChecker
from ingest.classification import Classifier
from ingest.consumer import UsageConsumer
from ingest.events import UsageEvent
from ingest.intake import PREPARE_SLICE, Intake, KafkaRecord
from ingest.ledger_port import LedgerBatch, LedgerOutcome
from ingest.metrics import IngestMetrics
from ingest.outbox_messages import OutboxMessage
from ingest.periods import TenantPeriods
from ingest.rejections import Reason

TOPIC = "usage.events.v1"
WRITE_STEPS = 6
"""Statements of one batch's transaction, each a wait on the database."""


@dataclass
class SteppedLedger(MemoryLedger):
    """A ledger whose write is a chain of waits, like the statements of one transaction."""

    log: list[tuple[str, int]] = field(default_factory=list)

    async def record(self, batch: LedgerBatch) -> LedgerOutcome:
        batch_end = max(p.next_offset for p in batch.positions)
        for _ in range(WRITE_STEPS):
            self.log.append(("write step", batch_end))
            await asyncio.sleep(0)
        return await super().record(batch)


class LoggingIntake(Intake):
    def __init__(self, ledger: SteppedLedger) -> None:
        super().__init__(
            EventChecker(Classifier(), TenantPeriods()),
            ledger,
            IngestMetrics(CollectorRegistry()),
            dlq_topic="dlq",
            max_event_bytes=64 * 1024,
        )
        self.log = ledger.log

    def _prepare_slice(
        self,
        records: Sequence[KafkaRecord],
        events: list[UsageEvent],
        dead: list[OutboxMessage],
        rejected: Counter[Reason],
    ) -> None:
        self.log.append(("prepare slice", records[0].offset))
        super()._prepare_slice(records, events, dead, rejected)


@dataclass
class ScriptedConsumer:
    """Like aiokafka's buffer: each wait brings the next scripted arrival, which is then taken at most
    ``max_records`` at a time; a take without waiting finds only what is left of it. After the last
    arrival it asks the consumer to stop."""

    arrivals: list[list[Record]]
    stopping: asyncio.Event
    log: list[tuple[str, int]]
    committed: list[dict[TopicPartition, int]] = field(default_factory=list)
    buffered: list[Record] = field(default_factory=list)
    revoke_after_first_take: bool = False
    """Hand the partition to another group member once the first batch is taken (a rebalance)."""
    held: set[TopicPartition] = field(default_factory=lambda: {TopicPartition(TOPIC, 0)})
    highwater_asked: list[TopicPartition] = field(default_factory=list)

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        if not self.buffered and timeout_ms > 0:
            if not self.arrivals:
                self.stopping.set()
                return {}
            self.buffered = self.arrivals.pop(0)
        taken, self.buffered = self.buffered[:max_records], self.buffered[max_records:]
        if taken:
            self.log.append(("take", taken[0].offset))
            if self.revoke_after_first_take:
                self.held.clear()
        return {TopicPartition(TOPIC, 0): taken} if taken else {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.committed.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return set(self.held)

    def highwater(self, tp: TopicPartition) -> int | None:
        # Like aiokafka, which asserts that the partition is assigned.
        if tp not in self.held:
            raise AssertionError("Partition is not assigned")
        self.highwater_asked.append(tp)
        return None


async def test_the_previous_batch_is_written_while_the_next_one_is_taken_and_prepared() -> None:
    size = 3 * PREPARE_SLICE
    records = [
        (structured if n % 2 else binary)(usage_event(n), topic=TOPIC, offset=n) for n in range(2 * size)
    ]
    ledger = SteppedLedger()
    stopping = asyncio.Event()
    kafka = ScriptedConsumer([records[:size], records[size:]], stopping, ledger.log)
    intake = LoggingIntake(ledger)
    consumer = UsageConsumer(
        kafka, intake, IngestMetrics(CollectorRegistry()), group="g", max_records=size, max_wait_ms=10
    )
    await consumer.run(stopping)

    for stage in ("take", "prepare slice"):
        second = [i for i, (what, at) in enumerate(ledger.log) if what == stage and at >= size]
        assert ("write step", size) in ledger.log[second[0] : second[-1]], stage  # the first write advanced
    writes = [at for what, at in ledger.log if what == "write step"]
    assert writes == sorted(writes)  # one batch written after the other, in fetch order
    assert [list(offsets.values()) for offsets in kafka.committed] == [[size], [2 * size]]
    assert sum(tally.events for tally in ledger.aggregates.values()) == 2 * size


async def test_a_partition_revoked_while_its_batch_is_written_does_not_stop_the_consumer() -> None:
    """A rebalance (another member joined) can take a partition away while its batch is written:
    the batch still commits, its lag is not asked of the client (which only knows the partitions it
    holds), and consuming goes on."""
    records = [structured(usage_event(n), topic=TOPIC, offset=n) for n in range(20)]
    ledger = SteppedLedger()
    stopping = asyncio.Event()
    kafka = ScriptedConsumer([records[:10], records[10:]], stopping, ledger.log, revoke_after_first_take=True)
    consumer = UsageConsumer(
        kafka,
        LoggingIntake(ledger),
        IngestMetrics(CollectorRegistry()),
        group="g",
        max_records=10,
        max_wait_ms=10,
    )
    await consumer.run(stopping)

    assert [list(offsets.values()) for offsets in kafka.committed] == [[10], [20]]
    assert kafka.highwater_asked == []
    assert sum(tally.events for tally in ledger.aggregates.values()) == 20
