"""Keeps the dashboard current from usage.aggregated.v1.

Notifications only say which tenant-periods changed; each is recomputed from the stored
aggregates. Bursts are coalesced: the set of touched tenant-periods is flushed at most once
per interval (the first notification after a quiet spell at once), and each flush stores the
snapshots and the consumed offsets in one transaction (the offsets committed to Kafka afterwards
are informational only).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from prometheus_client import CollectorRegistry, Counter, Histogram

from billing_core import Period
from billing_runtime.cloudevents_codec import CloudEventDecodeError, decode_record
from rating.dashboard import DashboardService
from rating.errors import RatingServiceError
from rating.ports import RatingStore
from rating.records import DashboardSnapshot

log = logging.getLogger(__name__)
IDLE_WAIT_SECONDS = 0.5
"""How long one poll waits for notifications when nothing is pending (returns early when one arrives)."""


def touched_tenant_period(data: Any) -> tuple[str, str]:
    """The (tenant, period) a usage.aggregated.v1 notification is about; ValueError if unreadable."""
    if not isinstance(data, dict):
        raise ValueError("data is not an object")
    tenant, period = data.get("tenant"), data.get("period")
    if not isinstance(tenant, str) or not tenant or not isinstance(period, str):
        raise ValueError("data lacks tenant or period")
    Period.parse(period)
    return tenant, period


class DashboardRefresher:
    """Collects touched tenant-periods and offsets, and flushes them as one transaction."""

    def __init__(self, store: RatingStore, dashboard: DashboardService, group_id: str) -> None:
        self._store = store
        self._dashboard = dashboard
        self._group_id = group_id
        self.pending: set[tuple[str, str]] = set()
        self.offsets: dict[tuple[str, int], int] = {}
        self.computed = 0
        """Tenant-period recomputations so far (coalescing keeps this far below notifications)."""

    def note(self, topic: str, partition: int, offset: int, data: Any) -> None:
        try:
            self.pending.add(touched_tenant_period(data))
        except ValueError as exc:
            log.warning("skipping unusable notification %s/%d@%d: %s", topic, partition, offset, exc)
        self.offsets[(topic, partition)] = offset + 1

    async def flush(self) -> list[DashboardSnapshot]:
        if not self.pending and not self.offsets:
            return []
        snapshots: list[DashboardSnapshot] = []
        for tenant, period in sorted(self.pending):
            try:
                snapshots.append(await self._dashboard.compute(tenant, Period.parse(period)))
                self.computed += 1
            except RatingServiceError as exc:  # e.g. usage of a tenant with no contract yet
                log.info("no dashboard for %s %s: %s", tenant, period, exc.message)
        await self._store.save_snapshots(snapshots, self.offsets, self._group_id)
        self.pending.clear()
        self.offsets.clear()
        return snapshots


class _SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: AIOKafkaConsumer, store: RatingStore, refresher: DashboardRefresher) -> None:
        self._consumer = consumer
        self._store = store
        self._refresher = refresher
        self._group_id = refresher._group_id

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._refresher.flush()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        stored = await self._store.consumer_offsets(self._group_id)
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is not None:
                self._consumer.seek(tp, offset)


class UsageConsumer:
    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        store: RatingStore,
        dashboard: DashboardService,
        *,
        group_id: str,
        topic: str,
        coalesce_seconds: float,
        metrics: CollectorRegistry | None = None,
    ) -> None:
        self._consumer = consumer
        self._store = store
        self._topic = topic
        self._coalesce = coalesce_seconds
        self.refresher = DashboardRefresher(store, dashboard, group_id)
        self._flushes = Counter("rating_dashboard_flushes_total", "Dashboard flushes", registry=metrics)
        self._recompute = Histogram(
            "rating_dashboard_flush_seconds", "Time to recompute and store a flush", registry=metrics
        )
        self._age = Histogram(
            "rating_dashboard_notification_age_seconds",
            "From the oldest notification of a flush being produced to the flush being stored",
            registry=metrics,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0),
        )
        self._oldest: float | None = None
        """Producer timestamp (s) of the oldest notification not yet flushed."""

    async def run(self, stop: asyncio.Event) -> None:
        self._consumer.subscribe(
            [self._topic], listener=_SeekToStored(self._consumer, self._store, self.refresher)
        )
        last_flush = time.monotonic() - self._coalesce
        while not stop.is_set():
            # Leading edge: a notification after a quiet spell is flushed at once; while flushes
            # follow each other, the next waits until one interval after the previous one began.
            if self.refresher.offsets:
                wait = max(0.0, last_flush + self._coalesce - time.monotonic())
            else:
                wait = IDLE_WAIT_SECONDS
            self._take(await self._consumer.getmany(timeout_ms=int(wait * 1000), max_records=10_000))
            if self.refresher.offsets and time.monotonic() - last_flush >= self._coalesce:
                last_flush = time.monotonic()
                await self._flush()

    def _take(self, batch: dict[TopicPartition, list[Any]]) -> None:
        for tp, records in batch.items():
            for record in records:
                try:
                    data = decode_record(record).get_data()
                except CloudEventDecodeError as exc:
                    data = None
                    log.warning(
                        "undecodable notification at %s/%d@%d: %s", tp.topic, tp.partition, record.offset, exc
                    )
                self.refresher.note(tp.topic, tp.partition, record.offset, data)
                produced = record.timestamp / 1000
                self._oldest = produced if self._oldest is None else min(self._oldest, produced)

    async def _flush(self) -> None:
        """Flush once; on failure keep what was collected and try again at the next interval."""
        started = time.perf_counter()
        offsets = dict(self.refresher.offsets)
        try:
            await self.refresher.flush()
        except Exception:  # the database may be away for a moment: nothing is lost, offsets stay
            log.exception("dashboard flush failed; retrying")
            return
        self._recompute.observe(time.perf_counter() - started)
        if self._oldest is not None:
            self._age.observe(max(0.0, time.time() - self._oldest))
            self._oldest = None
        self._flushes.inc()
        await self._commit_informational(offsets)

    async def _commit_informational(self, offsets: dict[tuple[str, int], int]) -> None:
        try:
            await self._consumer.commit(
                {TopicPartition(topic, part): off for (topic, part), off in offsets.items()}
            )
        except Exception as exc:  # the stored offsets are the ones that count
            log.info("informational Kafka commit failed: %s", exc)
