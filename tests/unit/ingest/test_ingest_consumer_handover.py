"""A rebalance hands the partitions over cleanly: the batch being written reaches the ledger before
the partitions go, the batch fetched meanwhile is not written but read again from the stored
positions, and no event is offered to the ledger twice."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError
from ingest_fakes import MemoryLedger, Record, structured, usage_event
from prometheus_client import CollectorRegistry

from ingest.checking import EventChecker
from ingest.classification import Classifier
from ingest.consumer import UsageConsumer
from ingest.intake import Intake
from ingest.ledger_port import LedgerBatch, LedgerOutcome
from ingest.metrics import IngestMetrics
from ingest.periods import TenantPeriods

TOPIC = "usage.events.v1"
PARTITION = TopicPartition(TOPIC, 0)
BATCH = 10


@dataclass
class PartitionLog:
    """One partition read like aiokafka reads it: from a position that a seek moves, at most
    ``max_records`` a take, a waiting take waits while the partition is not held; once everything
    was taken and nothing is left, it asks to stop."""

    records: list[Record]
    stopping: asyncio.Event
    position: int = 0
    held_now: asyncio.Event = field(default_factory=asyncio.Event)
    seeks: list[int] = field(default_factory=list)
    commit_gate: asyncio.Event | None = None
    """When given, every offset commit waits for it (as a commit can wait while the group rebalances)."""

    def __post_init__(self) -> None:
        self.held_now.set()

    @property
    def held(self) -> bool:
        return self.held_now.is_set()

    @held.setter
    def held(self, value: bool) -> None:
        if value:
            self.held_now.set()
        else:
            self.held_now.clear()

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        await asyncio.sleep(0)
        if timeout_ms > 0:
            await self.held_now.wait()
        if not self.held:
            return {}
        taken = self.records[self.position : self.position + max_records]
        if not taken:
            if timeout_ms > 0:
                self.stopping.set()
            return {}
        self.position += len(taken)
        return {PARTITION: taken}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        if not self.held:
            raise IllegalStateError(f"{tp} is not assigned")
        self.seeks.append(offset)
        self.position = offset

    async def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.seek(tp, 0)

    def assignment(self) -> set[TopicPartition]:
        return {PARTITION} if self.held else set()

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.commit_gate is not None:
            await self.commit_gate.wait()

    def highwater(self, tp: TopicPartition) -> int | None:
        return None


@dataclass
class SlowLedger(MemoryLedger):
    """Each write is a few waits long; remembers every event it was offered and when writes ended."""

    offered: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    on_first_write: asyncio.Event = field(default_factory=asyncio.Event)
    hold: asyncio.Event | None = None

    async def record(self, batch: LedgerBatch) -> LedgerOutcome:
        self.on_first_write.set()
        if self.hold is not None:
            await self.hold.wait()
        for _ in range(5):
            await asyncio.sleep(0)
        self.offered.extend(event.id for event in batch.events)
        outcome = await super().record(batch)
        self.log.append(f"recorded up to {max(p.next_offset for p in batch.positions)}")
        return outcome


def consumer_for(log: PartitionLog, ledger: SlowLedger, *, wait_seconds: float = 10.0) -> UsageConsumer:
    metrics = IngestMetrics(CollectorRegistry())
    intake = Intake(
        EventChecker(Classifier(), TenantPeriods()), ledger, metrics, dlq_topic="dlq", max_event_bytes=65536
    )
    return UsageConsumer(
        log,
        intake,
        metrics,
        group="g",
        max_records=BATCH,
        max_wait_ms=1,
        handover_wait_seconds=wait_seconds,
    )


def partition_of(count: int, stopping: asyncio.Event) -> PartitionLog:
    return PartitionLog([structured(usage_event(n), topic=TOPIC, offset=n) for n in range(count)], stopping)


async def test_a_rebalance_waits_for_the_write_and_the_batch_fetched_meanwhile_is_read_again() -> None:
    stopping = asyncio.Event()
    log = partition_of(4 * BATCH, stopping)
    ledger = SlowLedger()
    consumer = consumer_for(log, ledger)
    listener = consumer.rebalance_listener(ledger)

    async def rebalance() -> None:
        await ledger.on_first_write.wait()  # the first batch is being written, the second fetched
        log.held = False
        await listener.on_partitions_revoked([PARTITION])
        ledger.log.append("revoked")
        log.held = True
        await listener.on_partitions_assigned([PARTITION])

    rebalancing = asyncio.create_task(rebalance())
    await consumer.run(stopping)
    await rebalancing

    assert ledger.log[:2] == [f"recorded up to {BATCH}", "revoked"]
    assert sorted(ledger.offered) == sorted(f"evt-{n}" for n in range(4 * BATCH))  # none offered twice
    assert ledger.offsets == {("g", TOPIC, 0): 4 * BATCH}
    assert BATCH in log.seeks  # read again from the stored position
    assert sum(tally.events for tally in ledger.aggregates.values()) == 4 * BATCH


async def test_without_a_rebalance_no_batch_is_dropped_and_nothing_is_sought() -> None:
    stopping = asyncio.Event()
    log = partition_of(3 * BATCH, stopping)
    ledger = SlowLedger()
    consumer = consumer_for(log, ledger)
    consumer.rebalance_listener(ledger)
    await consumer.run(stopping)

    assert log.seeks == []
    assert ledger.offered == [f"evt-{n}" for n in range(3 * BATCH)]


async def test_the_hand_over_does_not_wait_for_the_kafka_offset_commit() -> None:
    """An offset commit may wait for the group, which waits for the hand-over: it must not wait
    for the commit in turn."""
    stopping = asyncio.Event()
    log = partition_of(BATCH, stopping)
    log.commit_gate = asyncio.Event()
    ledger = SlowLedger()
    consumer = consumer_for(log, ledger, wait_seconds=3600)
    listener = consumer.rebalance_listener(ledger)
    running = asyncio.create_task(consumer.run(stopping))
    await ledger.on_first_write.wait()
    await asyncio.wait_for(listener.on_partitions_revoked([PARTITION]), timeout=30)  # a deadlock guard
    assert ledger.log == [f"recorded up to {BATCH}"]
    log.commit_gate.set()
    await running


async def test_the_revocation_before_a_first_assignment_drops_nothing() -> None:
    stopping = asyncio.Event()
    log = partition_of(2 * BATCH, stopping)
    ledger = SlowLedger()
    log.held = False  # the first take waits for the group's first assignment
    consumer = consumer_for(log, ledger)
    listener = consumer.rebalance_listener(ledger)

    async def first_join() -> None:
        await asyncio.sleep(0)
        await listener.on_partitions_revoked(set())
        log.held = True
        await listener.on_partitions_assigned([PARTITION])

    joining = asyncio.create_task(first_join())
    await consumer.run(stopping)
    await joining
    assert ledger.offered == [f"evt-{n}" for n in range(2 * BATCH)]  # nothing dropped and read again
    assert log.seeks == [0]  # only the assignment's own seek


async def test_a_write_that_does_not_finish_holds_the_rebalance_only_for_the_hand_over_wait() -> None:
    stopping = asyncio.Event()
    log = partition_of(BATCH, stopping)
    ledger = SlowLedger(hold=asyncio.Event())
    consumer = consumer_for(log, ledger, wait_seconds=0.01)
    listener = consumer.rebalance_listener(ledger)
    running = asyncio.create_task(consumer.run(stopping))
    await ledger.on_first_write.wait()
    await listener.on_partitions_revoked([PARTITION])
    assert ledger.log == []  # gave up waiting; the write goes on and still counts once
    assert ledger.hold is not None
    ledger.hold.set()
    await running
    assert ledger.log == [f"recorded up to {BATCH}"]
    assert sum(tally.events for tally in ledger.aggregates.values()) == BATCH
