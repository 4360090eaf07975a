"""Two ingest instances in one consumer group on the real broker and database: the second joins
while the first is consuming, the group rebalances with batches in flight, and every distinct
event is still counted exactly once by the two together, both consumers still running."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from ingest_it_support import RunningIngest, ledger_totals, running_ingest, synthetic_totals, unique_tenant
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import create_engine
from ingest.settings import IngestSettings
from ingest.traffic import SyntheticUsage, produce

CHUNK = 2_000
"""Distinct events produced per tick of the live traffic (every tenth repeated in the next tick)."""
AFTER_JOIN = 10
"""Ticks of traffic still produced once the second instance consumes: the rebalance meets batches."""
MAX_TICKS = 150


async def wait_until(engine: AsyncEngine, tenants: list[str], more_than: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        now = sum(events for _, events in (await ledger_totals(engine, tenants)).values())
        if now > more_than:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{now} events counted in {timeout:.0f} s, waiting for more than {more_than}"
            )
        await asyncio.sleep(0.02)


def consumed(instance: RunningIngest) -> float:
    registry = instance.app.state.metrics
    return registry.get_sample_value("ingest_events_consumed_total", {"path": "kafka"}) or 0.0


async def test_a_second_instance_joining_mid_consumption_shares_the_work_and_counts_nothing_twice(
    ingest_settings: IngestSettings, exclusive_topic_prefix: str, producer: Any
) -> None:
    settings = ingest_settings.model_copy(
        update={
            "topic_prefix": exclusive_topic_prefix,
            "ingest_consumer_group": f"scale-{uuid.uuid4().hex[:8]}",
            "ingest_batch_max_records": 2_000,
        }
    )
    name = unique_tenant()
    traffic = SyntheticUsage(name, (f"{name}-a", f"{name}-b"), sites=12)
    tenants = list(traffic.tenants)
    produced = 0

    async def live_traffic(second_consumes: asyncio.Event) -> None:
        """About 20,000 events/s, with repeats, until the second instance has consumed for a while:
        so the group rebalances while batches are taken and written."""
        nonlocal produced
        topic = settings.topic_name("usage.events.v1")
        ticks_after_join = 0
        for tick in range(MAX_TICKS):
            fresh = list(range(produced, produced + CHUNK))
            repeats = list(range(max(0, produced - CHUNK), produced, 10))
            await produce(producer, topic, traffic.messages(fresh + repeats))
            produced += CHUNK
            if second_consumes.is_set():
                ticks_after_join += 1
                if ticks_after_join >= AFTER_JOIN:
                    return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the second instance consumed nothing in {MAX_TICKS} ticks of traffic")

    engine = create_engine(settings, "ingest", pool_size=1, max_overflow=0)
    try:
        async with contextlib.AsyncExitStack() as instances:
            first = await instances.enter_async_context(running_ingest(settings))
            second_consumes = asyncio.Event()
            producing = asyncio.create_task(live_traffic(second_consumes))
            await wait_until(engine, tenants, 5 * CHUNK, timeout=60)
            second = await instances.enter_async_context(running_ingest(settings))
            while consumed(second) == 0 and not producing.done():
                await asyncio.sleep(0.02)
            second_consumes.set()
            await producing
            seen = await wait_until(engine, tenants, produced - 1, timeout=120)
            await asyncio.sleep(1)  # room for a replayed batch to show up as a double count
            for instance in (first, second):
                ready = await instance.client.get("/readyz")
                assert ready.status_code == 200, ready.text
            assert consumed(first) > 0 and consumed(second) > 0
        totals = await ledger_totals(engine, tenants)  # both stopped: their last batches are in
    finally:
        await engine.dispose()

    assert seen == sum(events for _, events in totals.values()) == produced
    assert totals == synthetic_totals(traffic, produced)
