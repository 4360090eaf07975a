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
from ingest.intake import Intake
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


def consumer_on(flow: SteadyFlow, *, max_records: int, max_wait_ms: int) -> UsageConsumer:
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
    records = await consumer_on(flow, max_records=20 * FETCH_SLICE, max_wait_ms=100)._fetch()
    # The first take ends at 0.03 s, so the batch closes at 0.13 s; the bound is checked before each
    # further take: at 0.03, 0.06, 0.09 and 0.12 s it is open, at 0.15 s closed.
    assert flow.takes == [FETCH_SLICE] * 5
    assert len(records) == 5 * FETCH_SLICE < 20 * FETCH_SLICE


async def test_a_batch_fills_up_to_max_records_when_taking_is_quick() -> None:
    flow = SteadyFlow(step_seconds=0.001)
    records = await consumer_on(flow, max_records=3 * FETCH_SLICE + 7, max_wait_ms=100)._fetch()
    assert flow.takes == [FETCH_SLICE, FETCH_SLICE, FETCH_SLICE, 7]
    assert [record.offset for record in records] == list(range(3 * FETCH_SLICE + 7))
