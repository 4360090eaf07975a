"""Ingest throughput: N usage events through Kafka into the usage ledger, against a plain consumer.

Runs against the stack `make up` started (BILLING_DATABASE_URL / BILLING_KAFKA_BOOTSTRAP, or
.local/stack.env), in topics and a schema of its own that are removed afterwards:

1. produce N distinct events (half structured, half binary content mode) to usage.events.v1;
2. baseline: an aiokafka consumer (same client, same fetch settings) that only reads and parses them;
3. the ingest service in this process (its real app lifespan: consumer, ledger, outbox relay)
   until the aggregates hold all N events;
4. the same again with cProfile on a fresh schema for up to --profile-events events.

With --rounds R, steps 2 and 3 are repeated R times back to back (a fresh schema each time) and the
median ratio is printed too: on a machine shared with other work a single ratio moves a lot.

Usage: python bench/bench_ingest.py [--events N] [--rounds R] [--profile-events M]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import pstats
import secrets
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import create_engine, drop_schema
from billing_runtime.kafka import create_producer
from billing_runtime.migrations import upgrade
from billing_runtime.topics import delete_prefixed_topics, ensure_topics
from ingest.bootstrap import USAGE_EVENTS, create_app
from ingest.settings import IngestSettings
from ingest.traffic import SyntheticUsage, produce

ROOT = Path(__file__).resolve().parent.parent


def stack_env() -> dict[str, str]:
    values: dict[str, str] = {}
    env_file = ROOT / ".local" / "stack.env"
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip().removeprefix("BILLING_").lower()] = value.strip()
    return values


async def produce_events(settings: IngestSettings, count: int) -> float:
    producer = create_producer(settings, client_id="bench-producer", max_batch_size=1024 * 1024, linger_ms=20)
    await producer.start()
    started = time.perf_counter()
    try:
        traffic = SyntheticUsage("bench", tuple(f"t{n:02d}" for n in range(10)))
        await produce(producer, settings.topic_name(USAGE_EVENTS), traffic.messages(range(count)))
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def baseline(settings: IngestSettings, count: int) -> float:
    """Read and parse every event with the same client and fetch settings, nothing else."""
    consumer = AIOKafkaConsumer(
        settings.topic_name(USAGE_EVENTS),
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=f"{settings.topic_prefix}baseline",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    await consumer.start()
    seen = 0
    try:
        while seen < count:
            fetched = await consumer.getmany(timeout_ms=200, max_records=settings.ingest_batch_max_records)
            for batch in fetched.values():
                for record in batch:
                    json.loads(record.value, parse_float=Decimal)
                seen += len(batch)
    finally:
        await consumer.stop()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"baseline process CPU : {cpu:7.2f}s  {cpu / count * 1e6:10.1f} µs/event")
    return elapsed


async def counted_events(engine: AsyncEngine, schema: str) -> int:
    async with engine.connect() as connection:
        value = await connection.scalar(
            text(f'SELECT coalesce(sum(events), 0) FROM "{schema}".usage_aggregates')
        )
    return int(value)


class GcPauses:
    """Time spent in the interpreter's cyclic garbage collector while active (part of the process CPU)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = 0
        self._began = 0.0

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._observe)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._began
            self.collections += 1


async def run_service(settings: IngestSettings, count: int) -> float:
    """The real app lifespan (consumer, ledger, relay) until the aggregates hold ``count`` events."""
    await asyncio.to_thread(upgrade, ROOT / "services" / "ingest", settings)
    app = create_app(settings)
    probe = create_engine(settings, "ingest", pool_size=1, max_overflow=0)
    schema = settings.schema_name("ingest")
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        with GcPauses() as pauses:
            async with app.router.lifespan_context(app):
                while await counted_events(probe, schema) < count:
                    await asyncio.sleep(0.1)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
        print(f"ingest process CPU   : {cpu:7.2f}s  {cpu / count * 1e6:10.1f} µs/event")
        print(
            f"  of which GC pauses : {pauses.seconds:7.2f}s  {pauses.seconds / count * 1e6:10.1f} µs/event"
            f"  ({pauses.collections:,} collections)"
        )
    finally:
        await drop_schema(probe, schema)
        await probe.dispose()
    return elapsed


async def main(count: int, rounds: int, profile_events: int) -> None:
    run = secrets.token_hex(3)
    base: dict[str, Any] = {**stack_env(), "topic_prefix": f"bench.{run}.", "schema_prefix": f"bench_{run}_"}
    settings = IngestSettings(**base, ingest_consumer_group="ingest")
    await ensure_topics(settings)
    try:
        produced = await produce_events(settings, count)
        print(f"produced {count:,} events in {produced:.1f}s ({count / produced:,.0f}/s)")
        ratios = []
        for round_number in range(rounds):
            schema_prefix = f"{base['schema_prefix']}r{round_number}_"
            settings = IngestSettings(
                **{**base, "schema_prefix": schema_prefix}, ingest_consumer_group="ingest"
            )
            if rounds > 1:
                print(f"round {round_number + 1} of {rounds}")
            base_seconds = await baseline(settings, count)
            service_seconds = await run_service(settings, count)
            base_rate, service_rate = count / base_seconds, count / service_seconds
            ratios.append(service_rate / base_rate)
            print(f"baseline  read+parse : {base_seconds:7.2f}s  {base_rate:10,.0f} events/s")
            print(f"ingest end to end    : {service_seconds:7.2f}s  {service_rate:10,.0f} events/s")
            print(f"ratio ingest/baseline: {ratios[-1]:.2f}   (targets: ratio >= 0.50, >= 100,000/s)")
        if rounds > 1:
            print(f"median ratio of {rounds} rounds: {statistics.median(ratios):.2f}")
        if profile_events:
            await profile(base, min(profile_events, count))
    finally:
        await delete_prefixed_topics(settings)


async def profile(base: dict[str, Any], count: int) -> None:
    """A second service run on a fresh schema, under cProfile, over the first ``count`` events."""
    settings = IngestSettings(
        **{**base, "schema_prefix": f"{base['schema_prefix']}p_"}, ingest_consumer_group="ingest-profiled"
    )
    profiler = cProfile.Profile()
    profiler.enable()
    seconds = await run_service(settings, count)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    print(
        f"\nwhere the time goes (cProfile, {count:,} events, {seconds:.1f}s under the profiler), by own time:"
    )
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1, help="baseline and service runs, back to back")
    parser.add_argument("--profile-events", type=int, default=200_000, help="0 to skip the profiled run")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.rounds, arguments.profile_events))
    sys.exit(0)
