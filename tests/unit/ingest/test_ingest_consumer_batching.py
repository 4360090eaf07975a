"""How much one batch takes from the client: up to max_records, only what is already there after
the first take, and for no longer than the fetch wait after it."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import TopicPartition
from ingest_fakes import MemoryLedger, Record, structured, usage_event
from prometheus_client import CollectorRegistry

from ingest.checking import EventChecker
from ingest.classification import Classifier
from ingest.consumer import FETCH_SLICE, UsageConsumer
from ingest.intake import Intake, _positions
from ingest.ledger_port import PartitionPosition
from ingest.metrics import IngestMetrics
from ingest.periods import TenantPeriods

TOPIC = "usage.events.v1"


@dataclass
class SteadyFlow:
    """A client whose buffer is never empty (records keep arriving); every take moves the clock on."""

    step_seconds: float
    now: float = 0.0
    next_offset: int = 0
    takes: list[int] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        taken = [
            structured(usage_event(n), topic=TOPIC, offset=n)
            for n in range(self.next_offset, self.next_offset + max_records)
        ]
        self.next_offset += max_records
        self.now += self.step_seconds
        self.takes.append(max_records)
        return {TopicPartition(TOPIC, 0): taken}


def consumer_on(flow: SteadyFlow | ScriptedTakes, *, max_records: int, max_wait_ms: int) -> UsageConsumer:
    metrics = IngestMetrics(CollectorRegistry())
    intake = Intake(
        EventChecker(Classifier(), TenantPeriods()),
        MemoryLedger(),
        metrics,
        dlq_topic="dlq",
        max_event_bytes=64 * 1024,
    )
    return UsageConsumer(
        flow, intake, metrics, group="g", max_records=max_records, max_wait_ms=max_wait_ms, clock=flow.clock
    )


async def test_a_batch_stops_taking_records_once_the_fetch_wait_has_passed_since_its_first() -> None:
    flow = SteadyFlow(step_seconds=0.03)
    records, positions = await consumer_on(flow, max_records=20 * FETCH_SLICE, max_wait_ms=100)._fetch()
    # The first take ends at 0.03 s, so the batch closes at 0.13 s; the bound is checked before each
    # further take: at 0.03, 0.06, 0.09 and 0.12 s it is open, at 0.15 s closed.
    assert flow.takes == [FETCH_SLICE] * 5
    assert len(records) == 5 * FETCH_SLICE < 20 * FETCH_SLICE
    assert positions == [PartitionPosition(TOPIC, 0, 5 * FETCH_SLICE)]


async def test_a_batch_fills_up_to_max_records_when_taking_is_quick() -> None:
    flow = SteadyFlow(step_seconds=0.001)
    records, positions = await consumer_on(flow, max_records=3 * FETCH_SLICE + 7, max_wait_ms=100)._fetch()
    assert flow.takes == [FETCH_SLICE, FETCH_SLICE, FETCH_SLICE, 7]
    assert [record.offset for record in records] == list(range(3 * FETCH_SLICE + 7))
    assert positions == [PartitionPosition(TOPIC, 0, 3 * FETCH_SLICE + 7)]


@dataclass
class ScriptedTakes:
    """A client whose takes are given in advance (partition → offsets), one per getmany."""

    takes: list[dict[int, list[int]]]

    def clock(self) -> float:
        return 0.0

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        if not self.takes:
            return {}
        return {
            TopicPartition(TOPIC, partition): [
                structured(usage_event(offset), topic=TOPIC, partition=partition, offset=offset)
                for offset in offsets
            ]
            for partition, offsets in self.takes.pop(0).items()
        }


async def test_positions_are_the_highest_offset_plus_one_of_each_partition_over_all_takes() -> None:
    """Also when a partition comes back lower in a later take (sought back after a rebalance):
    the positions equal those read record by record."""
    client = ScriptedTakes([{3: [10, 11, 12], 1: [5]}, {1: [6, 7], 0: []}, {3: [4, 5], 2: [0]}])
    consumer = consumer_on(client, max_records=100, max_wait_ms=100)
    records, positions = await consumer._fetch()
    assert [(p.partition, p.next_offset) for p in positions] == [(1, 8), (2, 1), (3, 13)]
    assert positions == _positions(records)
