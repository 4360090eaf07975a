"""The Kafka side: fetch batches from usage.events.v1, record each in one transaction, then move on.

Positions are stored in PostgreSQL with the batch, and on every assignment the consumer seeks to
them, so Kafka's committed offsets are only informational (committed after the database commit).
A batch whose write fails is retried as a whole until it succeeds or the service stops; since the
ledger is idempotent, a retry after an unseen commit counts nothing twice.

When the group shares the partitions anew (a replica joined or left), the batch being written is
finished before this member gives its partitions up, and the batch fetched meanwhile is dropped and
read again from the stored positions. Without that, whoever got a partition next started before the
batch in flight and read it again, and both members wrote the same events: the second write met
taken pairs, rolled back and was done again the slow way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from ingest.intake import Intake, KafkaBatchReport, PreparedKafkaBatch
from ingest.ledger_port import PartitionPosition, UsageLedger
from ingest.metrics import IngestMetrics

log = logging.getLogger(__name__)
RETRY_CEILING_SECONDS = 5.0
FETCH_SLICE = 500
"""Records taken from the Kafka client at a time (its unpacking does not yield to the event loop)."""


class SeekToStoredPositions(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(
        self,
        consumer: Any,
        ledger: UsageLedger,
        group: str,
        *,
        before_revoke: Callable[[Sequence[TopicPartition]], Awaitable[None]] | None = None,
    ) -> None:
        self._consumer = consumer
        self._ledger = ledger
        self._group = group
        self._before_revoke = before_revoke

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        """``before_revoke`` (the consumer's hand-over) runs before the group shares the partitions
        anew; without one there is nothing to flush: a batch in flight stores its positions with
        GREATEST, never backwards."""
        if self._before_revoke is not None:
            await self._before_revoke(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        """The database is the truth: a partition it holds no position for has not been consumed,
        whatever offset Kafka remembers for the group, so it is read from the beginning."""
        await self.seek(assigned)

    async def seek(self, assigned: Sequence[TopicPartition]) -> None:
        """Move the partitions to their stored positions (the beginning when none is stored)."""
        unknown = []
        for topic in sorted({tp.topic for tp in assigned}):
            stored = await self._ledger.positions(self._group, topic)
            for tp in assigned:
                if tp.topic != topic:
                    continue
                if tp.partition in stored:
                    self._consumer.seek(tp, stored[tp.partition])
                else:
                    unknown.append(tp)
        if unknown:
            await self._consumer.seek_to_beginning(*unknown)
        log.info("assigned %s", sorted((tp.topic, tp.partition) for tp in assigned))


class UsageConsumer:
    def __init__(
        self,
        consumer: Any,
        intake: Intake,
        metrics: IngestMetrics,
        *,
        group: str,
        max_records: int,
        max_wait_ms: int,
        after_commit: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        handover_wait_seconds: float = 10.0,
    ) -> None:
        """``handover_wait_seconds``: how long a rebalance waits for the batch being written (a
        write that keeps failing must not hold the whole group up; it still stores its positions
        with GREATEST when it succeeds, and the ledger counts any event once)."""
        self._consumer = consumer
        self._intake = intake
        self._metrics = metrics
        self._group = group
        self._max_records = max_records
        self._max_wait_ms = max_wait_ms
        self._after_commit = after_commit
        self._clock = clock
        self._handover_wait_seconds = handover_wait_seconds
        self._handovers = 0
        """Times the group took the partitions back; a batch fetched before the latest is dropped."""
        self._recording: asyncio.Task[KafkaBatchReport | None] | None = None
        self._seeker: SeekToStoredPositions | None = None

    def rebalance_listener(self, ledger: UsageLedger) -> SeekToStoredPositions:
        """The listener to subscribe with: seeks to the stored positions on every assignment and
        hands the partitions over cleanly (``hand_over``) on every revocation."""
        self._seeker = SeekToStoredPositions(
            self._consumer, ledger, self._group, before_revoke=self.hand_over
        )
        return self._seeker

    async def hand_over(self, revoked: Sequence[TopicPartition]) -> None:
        """Before the partitions go back to the group: let the batch being written reach the
        database (not its Kafka offset commit, which may wait for the group), so that whoever gets a
        partition next starts after it; and mark the batch fetched meanwhile as not to be written.
        The revocation before a first assignment gives nothing back, and changes nothing."""
        if not revoked:
            return
        self._handovers += 1
        recording = self._recording
        if recording is not None and not recording.done():
            await asyncio.wait({recording}, timeout=self._handover_wait_seconds)
            if not recording.done():
                log.warning(
                    "rebalance: the batch being written did not finish within %.1fs; partitions handed "
                    "over anyway (the write goes on, and counts nothing twice)",
                    self._handover_wait_seconds,
                )

    async def run(self, stopping: asyncio.Event) -> None:
        """Fetch and record until ``stopping`` is set; the batch in hand is finished first.

        Two stages overlap: while batch k is written (its own task), batch k+1 is fetched and
        checked. Writes still happen one at a time and in fetch order, so positions only advance.
        """
        writing: asyncio.Task[bool] | None = None
        try:
            while not stopping.is_set():
                handovers = self._handovers
                records, positions = await self._fetch()
                prepared = (
                    await self._intake.prepare_kafka(records, self._group, positions) if records else None
                )
                if writing is not None and not await writing:
                    return
                if prepared is not None and self._handovers != handovers:
                    log.info("dropped a batch of %d records fetched before a rebalance", len(records))
                    prepared = None
                    await self._rewind()
                writing = None
                if prepared is not None:
                    self._recording = asyncio.create_task(self._record(prepared, stopping))
                    writing = asyncio.create_task(self._write(self._recording))
            if writing is not None:
                await writing
        finally:
            for task in (writing, self._recording):
                if task is not None and not task.done():
                    task.cancel()

    async def _fetch(self) -> tuple[list[Any], list[PartitionPosition]]:
        """Up to ``max_records`` records, taken from the client ``FETCH_SLICE`` at a time, and the
        position after the last of them in each partition.

        The client unpacks records as they are taken, which is CPU work that does not yield to the
        event loop; in slices, with a pause between them, the write of the previous batch goes on
        meanwhile. Only the first take waits for records; later ones take what is already there, for
        at most ``max_wait_ms`` after the first: under a steady flow the client's buffer is seldom
        empty, and without that bound a batch would grow to ``max_records`` whatever the rate (at
        20,000 events/s, half a second of usage held back from the dashboard).

        The client hands each partition's records in offset order, so the last of each take is the
        highest of that take: positions cost a look per partition, not per record. Taking stops
        early once a rebalance has begun: ``run`` drops a batch fetched across one anyway.
        """
        limit = self._max_records
        handovers = self._handovers
        highest: dict[TopicPartition, int] = {}
        fetched = await self._consumer.getmany(
            timeout_ms=self._max_wait_ms, max_records=min(FETCH_SLICE, limit)
        )
        records = _taken(fetched, highest)
        closes = self._clock() + self._max_wait_ms / 1000
        while records and len(records) < limit and self._clock() < closes and self._handovers == handovers:
            await asyncio.sleep(0)
            fetched = await self._consumer.getmany(
                timeout_ms=0, max_records=min(FETCH_SLICE, limit - len(records))
            )
            if not fetched:
                break
            records.extend(_taken(fetched, highest))
        positions = [
            PartitionPosition(tp.topic, tp.partition, offset + 1) for tp, offset in sorted(highest.items())
        ]
        return records, positions

    async def _rewind(self) -> None:
        """Read the held partitions again from their stored positions: records taken from them but
        not written would otherwise be skipped (the client's own positions are past them). No write
        is in flight here, so the stored positions are exactly what was written."""
        if self._seeker is None:
            return
        try:
            await self._seeker.seek(sorted(self._consumer.assignment()))
        except IllegalStateError:  # taken away meanwhile: the next assignment seeks them anyway
            log.info("partitions reassigned while rewinding; the assignment seeks them")

    async def _write(self, recording: asyncio.Task[KafkaBatchReport | None]) -> bool:
        report = await recording
        if report is None:
            return False
        self._after_commit()
        await self._commit_to_kafka(report)
        return True

    async def _record(self, prepared: PreparedKafkaBatch, stopping: asyncio.Event) -> KafkaBatchReport | None:
        delay = 0.1
        while True:
            try:
                return await self._intake.record_kafka(prepared)
            except asyncio.CancelledError:
                raise
            except Exception:
                size = prepared.consumed
                if stopping.is_set():
                    log.warning("batch of %d records abandoned at shutdown (rolled back)", size)
                    return None
                log.exception("recording a batch of %d records failed; retrying in %.1fs", size, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_CEILING_SECONDS)

    async def _commit_to_kafka(self, report: KafkaBatchReport) -> None:
        offsets = {TopicPartition(p.topic, p.partition): p.next_offset for p in report.positions}
        try:
            await self._consumer.commit(offsets)
        except KafkaError as error:  # informational only: the database holds the real positions
            log.info("kafka offset commit skipped: %r", error)
        # A rebalance may have handed some of the batch's partitions to another member meanwhile;
        # the client only knows the high-water mark of the partitions it still holds.
        held = self._consumer.assignment()
        for tp, next_offset in offsets.items():
            if tp not in held:
                continue
            highwater = self._consumer.highwater(tp)
            if highwater is not None:
                self._metrics.consumer_lag.labels(topic=tp.topic, partition=str(tp.partition)).set(
                    max(0, highwater - next_offset)
                )


def _taken(fetched: dict[TopicPartition, list[Any]], highest: dict[TopicPartition, int]) -> list[Any]:
    """The records of one take, in one list; ``highest`` keeps the highest offset per partition."""
    for tp, batch in fetched.items():
        if batch and batch[-1].offset > highest.get(tp, -1):
            highest[tp] = batch[-1].offset
    return [record for batch in fetched.values() for record in batch]
