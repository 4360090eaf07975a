"""Ingest throughput: N usage events through Kafka into the usage ledger, against a plain consumer.

Runs against the stack `make up` started (BILLING_DATABASE_URL / BILLING_KAFKA_BOOTSTRAP, or
.local/stack.env), in topics and a schema of its own that are removed afterwards:

1. produce N distinct events (half structured, half binary content mode) to usage.events.v1;
2. baseline: an aiokafka consumer (same client, same fetch settings) that only reads and parses them,
   in this process; with --processes P > 1 also P such consumers in one group, in P processes;
3. the ingest service (its real app lifespan: consumer, ledger, outbox relay) in P processes of one
   consumer group, as the Helm chart runs it in replicas, until the aggregates hold all N events;
   with P > 1 also the service in one process, for comparison;
4. the service again, in this process under cProfile, on a fresh schema for up to --profile-events.

Service and baseline processes are forked from a server that has already imported the service's
code, so neither side's clock includes Python's imports; each clock starts when its consumers are
started and stops when the last event is read (baseline) or counted in the aggregates (service).
Besides the rates, the CPU time per event of each side is printed, and, for the service runs, that of
the PostgreSQL server (all its processes) and the Kafka broker: on two shared cores every one of
them competes for the same CPU. For the service runs also: when the first events were counted,
and the rate from 10 % to 90 % of them, apart from the start (processes, the group forming and
rebalancing) and the tail that the end-to-end rate includes.

With --rounds R, steps 2 and 3 are repeated R times back to back (a fresh schema each time) and the
median ratio is printed too: on a machine shared with other work a single ratio moves a lot.

Usage: python bench/bench_ingest.py [--events N] [--processes P] [--rounds R] [--profile-events M]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import multiprocessing
import os
import pstats
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import create_engine, drop_schema
from billing_runtime.kafka import create_consumer, create_producer
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


async def baseline(settings: IngestSettings, count: int) -> Run:
    """Read and parse every event with the same client and fetch settings, nothing else."""
    consumer = baseline_consumer(settings, "baseline")
    started, cpu_started = time.perf_counter(), time.process_time()
    await consumer.start()
    seen = 0
    try:
        while seen < count:
            seen += await read_and_parse(consumer, settings, timeout_ms=200)
    finally:
        await consumer.stop()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return Run("baseline, 1 consumer", elapsed, cpu)


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


FORKS = multiprocessing.get_context("forkserver")
PRELOADED = ["__main__", "ingest.bootstrap", "aiokafka", "asyncpg", "sqlalchemy.ext.asyncio"]
"""Imported once by the fork server, so a forked service or baseline process starts at once."""


@dataclass
class Run:
    """One measured run: wall seconds, and CPU seconds of its own processes and of the servers."""

    label: str
    seconds: float
    cpu: float
    gc_seconds: float = 0.0
    gc_collections: int = 0
    postgres_cpu: float | None = None
    kafka_cpu: float | None = None
    progress: tuple[tuple[float, int], ...] = ()
    """(seconds since the start, events counted) at each poll of a service run."""

    def report(self, count: int) -> None:
        def per_event(seconds: float) -> str:
            return f"{seconds / count * 1e6:5.1f} µs/event"

        print(f"{self.label:<26}: {self.seconds:6.2f}s {count / self.seconds:10,.0f} events/s")
        print(f"  {'its process CPU':<24}: {self.cpu:6.2f}s {per_event(self.cpu)}", end="")
        print(f"  (GC pauses {per_event(self.gc_seconds)})" if self.gc_collections else "")
        if self.postgres_cpu is not None:
            print(
                f"  {'PostgreSQL server CPU':<24}: {self.postgres_cpu:6.2f}s {per_event(self.postgres_cpu)}"
            )
        if self.kafka_cpu is not None:
            print(f"  {'Kafka broker CPU':<24}: {self.kafka_cpu:6.2f}s {per_event(self.kafka_cpu)}")
        stretch = steady_stretch(self.progress, count)
        if stretch is not None:
            first, rate = stretch
            print(
                f"  {'where the clock goes':<24}: first events counted after {first:.2f}s; "
                f"{rate:,.0f} events/s from 10 % to 90 % of them"
            )


def steady_stretch(progress: tuple[tuple[float, int], ...], count: int) -> tuple[float, float] | None:
    """When the first events were counted, and the rate between 10 % and 90 % of ``count``: the
    end-to-end rate also holds the start (processes, group forming, first rebalance) and the tail."""
    first = next((at for at, counted in progress if counted > 0), None)
    low = next((at for at, counted in progress if counted >= count // 10), None)
    high = next((at for at, counted in progress if counted >= count * 9 // 10), None)
    if first is None or low is None or high is None or high <= low:
        return None
    return first, (count * 9 // 10 - count // 10) / (high - low)


class ServerCpu:
    """CPU seconds used so far by the local PostgreSQL server (the postmaster, its live processes,
    and the ones it has reaped) and the Kafka broker, read from /proc; None where not visible."""

    def __init__(self, postmaster: int | None, broker: int | None) -> None:
        self._postmaster = postmaster
        self._broker = broker

    @staticmethod
    async def locate(engine: AsyncEngine) -> ServerCpu:
        postmaster = None
        async with engine.connect() as connection:
            backend = await connection.scalar(text("SELECT pg_backend_pid()"))
        status = Path(f"/proc/{backend}/status")
        if status.is_file():
            parent = [line for line in status.read_text().splitlines() if line.startswith("PPid:")]
            postmaster = int(parent[0].split()[1]) if parent else None
        pid_file = ROOT / ".local" / "run" / "kafka.pid"
        broker = int(pid_file.read_text()) if pid_file.is_file() else None
        if broker is not None and not Path(f"/proc/{broker}").is_dir():
            broker = None
        return ServerCpu(postmaster, broker)

    @staticmethod
    def _times(pid: int, with_reaped: bool) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        used = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if with_reaped else 0)
        return used / os.sysconf("SC_CLK_TCK")

    def postgres(self) -> float | None:
        if self._postmaster is None:
            return None
        children = Path(f"/proc/{self._postmaster}/task/{self._postmaster}/children")
        pids = children.read_text().split() if children.is_file() else []
        return self._times(self._postmaster, True) + sum(self._times(int(pid), False) for pid in pids)

    def kafka(self) -> float | None:
        return None if self._broker is None else self._times(self._broker, True)


def _service_process(values: dict[str, Any], control: Connection) -> None:
    asyncio.run(_serve(values, control))


async def _serve(values: dict[str, Any], control: Connection) -> None:
    """The real app lifespan until told to stop; sends its CPU and GC figures at that moment."""
    app = create_app(IngestSettings(**values))
    cpu_started = time.process_time()
    with GcPauses() as pauses:
        async with app.router.lifespan_context(app):
            await asyncio.to_thread(control.recv)
            figures = (time.process_time() - cpu_started, pauses.seconds, pauses.collections)
    control.send(figures)


def _baseline_process(values: dict[str, Any], group: str, read: Any, control: Connection) -> None:
    asyncio.run(_read_and_parse(IngestSettings(**values), group, read, control))


async def _read_and_parse(settings: IngestSettings, group: str, read: Any, control: Connection) -> None:
    """One baseline consumer of a group of several: reads and parses until told to stop."""
    consumer = baseline_consumer(settings, group)
    cpu_started = time.process_time()
    await consumer.start()
    try:
        while not control.poll():
            parsed = await read_and_parse(consumer, settings, timeout_ms=50)
            with read.get_lock():
                read.value += parsed
    finally:
        await consumer.stop()
    control.send((time.process_time() - cpu_started, 0.0, 0))


async def read_and_parse(consumer: AIOKafkaConsumer, settings: IngestSettings, timeout_ms: int) -> int:
    """The baseline's whole work on one fetch: parse every record's value; returns how many."""
    fetched = await consumer.getmany(timeout_ms=timeout_ms, max_records=settings.ingest_batch_max_records)
    for batch in fetched.values():
        for record in batch:
            json.loads(record.value, parse_float=Decimal)
    return sum(map(len, fetched.values()))


def baseline_consumer(settings: IngestSettings, group: str) -> AIOKafkaConsumer:
    """A consumer made the way the services make theirs, so it reads with their settings."""
    return create_consumer(settings, USAGE_EVENTS, group=group, client_id="bench-baseline")


class Forked:
    """Processes forked from the preloaded server, each with a control pipe; stopping one returns
    the (cpu, gc seconds, gc collections) it reports."""

    def __init__(self, target: Any, argument_sets: list[tuple[Any, ...]]) -> None:
        self._pipes = []
        self._processes = []
        for arguments in argument_sets:
            ours, theirs = FORKS.Pipe()
            process = FORKS.Process(target=target, args=(*arguments, theirs), daemon=True)
            self._pipes.append(ours)
            self._processes.append(process)

    def start(self) -> None:
        for process in self._processes:
            process.start()

    def check_alive(self) -> None:
        for process in self._processes:
            if process.exitcode is not None:
                raise RuntimeError(f"a benchmark process ended early with status {process.exitcode}")

    def stop(self) -> tuple[float, float, int]:
        for pipe in self._pipes:
            pipe.send("stop")
        cpu, gc_seconds, collections = 0.0, 0.0, 0
        for pipe, process in zip(self._pipes, self._processes, strict=True):
            if not pipe.poll(60):
                process.kill()
                raise RuntimeError("a benchmark process did not report within 60 s of being stopped")
            one_cpu, one_gc, one_collections = pipe.recv()
            cpu, gc_seconds, collections = cpu + one_cpu, gc_seconds + one_gc, collections + one_collections
            process.join(30)
        return cpu, gc_seconds, collections


async def baseline_processes(values: dict[str, Any], count: int, processes: int) -> Run:
    """``processes`` baseline consumers of one group, each in a process of its own."""
    read = FORKS.Value("q", 0)
    group = f"baseline-{processes}-{secrets.token_hex(2)}"
    forked = Forked(_baseline_process, [(values, group, read)] * processes)
    started = time.perf_counter()
    forked.start()
    while read.value < count:
        forked.check_alive()
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    cpu, _, _ = forked.stop()
    return Run(f"baseline, {processes} consumers", elapsed, cpu)


async def run_service(values: dict[str, Any], count: int, processes: int) -> Run:
    """The service in ``processes`` processes of one consumer group until the aggregates hold
    ``count`` events, on a schema of its own that is dropped afterwards."""
    settings = IngestSettings(**values)
    await asyncio.to_thread(upgrade, ROOT / "services" / "ingest", settings)
    probe = create_engine(settings, "ingest", pool_size=1, max_overflow=0)
    schema = settings.schema_name("ingest")
    try:
        servers = await ServerCpu.locate(probe)
        forked = Forked(_service_process, [(values,)] * processes)
        postgres_before, kafka_before = servers.postgres(), servers.kafka()
        started = time.perf_counter()
        forked.start()
        progress = []
        while (counted := await counted_events(probe, schema)) < count:
            progress.append((time.perf_counter() - started, counted))
            forked.check_alive()
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        progress.append((elapsed, counted))
        postgres_after, kafka_after = servers.postgres(), servers.kafka()
        cpu, gc_seconds, collections = forked.stop()
    finally:
        await drop_schema(probe, schema)
        await probe.dispose()
    label = f"ingest, {processes} process" + ("es" if processes > 1 else "")
    return Run(
        label,
        elapsed,
        cpu,
        gc_seconds,
        collections,
        None if postgres_before is None or postgres_after is None else postgres_after - postgres_before,
        None if kafka_before is None or kafka_after is None else kafka_after - kafka_before,
        tuple(progress),
    )


async def main(count: int, processes: int, rounds: int, profile_events: int) -> None:
    FORKS.set_forkserver_preload(PRELOADED)
    run = secrets.token_hex(3)
    base: dict[str, Any] = {**stack_env(), "topic_prefix": f"bench.{run}.", "schema_prefix": f"bench_{run}_"}
    settings = IngestSettings(**base, ingest_consumer_group="ingest")
    await ensure_topics(settings)
    try:
        produced = await produce_events(settings, count)
        print(f"produced {count:,} events in {produced:.1f}s ({count / produced:,.0f}/s)")
        ratios, like_for_like = [], []
        for round_number in range(rounds):
            if rounds > 1:
                print(f"round {round_number + 1} of {rounds}")
            single = await baseline(settings, count)
            single.report(count)
            if processes > 1:
                several = await baseline_processes(base, count, processes)
                several.report(count)
            for size in sorted({1, processes}):
                values = {
                    **base,
                    "schema_prefix": f"{base['schema_prefix']}r{round_number}p{size}_",
                    "ingest_consumer_group": f"ingest-r{round_number}p{size}",
                }
                service = await run_service(values, count, size)
                service.report(count)
            ratios.append(single.seconds / service.seconds)
            print(
                f"ratio ingest ({processes} process{'es' if processes > 1 else ''}) / baseline (1 consumer): "
                f"{ratios[-1]:.2f}   (targets: ratio >= 0.50, >= 100,000 events/s; "
                f"reached {count / service.seconds:,.0f} events/s)"
            )
            if processes > 1:
                like_for_like.append(several.seconds / service.seconds)
                print(
                    f"ratio ingest ({processes} processes) / baseline ({processes} consumers): "
                    f"{like_for_like[-1]:.2f}"
                )
        if rounds > 1:
            print(f"median ratio of {rounds} rounds: {statistics.median(ratios):.2f}", end="")
            print(
                f" (against {processes} consumers: {statistics.median(like_for_like):.2f})"
                if like_for_like
                else ""
            )
        if profile_events:
            await profile(base, min(profile_events, count))
    finally:
        await delete_prefixed_topics(settings)


async def profile(base: dict[str, Any], count: int) -> None:
    """The service in this process under cProfile, on a fresh schema, over the first ``count`` events."""
    settings = IngestSettings(
        **{**base, "schema_prefix": f"{base['schema_prefix']}p_"}, ingest_consumer_group="ingest-profiled"
    )
    await asyncio.to_thread(upgrade, ROOT / "services" / "ingest", settings)
    app = create_app(settings)
    probe = create_engine(settings, "ingest", pool_size=1, max_overflow=0)
    schema = settings.schema_name("ingest")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    try:
        profiler.enable()
        async with app.router.lifespan_context(app):
            while await counted_events(probe, schema) < count:
                await asyncio.sleep(0.1)
        profiler.disable()
    finally:
        await drop_schema(probe, schema)
        await probe.dispose()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    print(
        f"\nwhere the time goes (cProfile, one process, {count:,} events, "
        f"{seconds:.1f}s under the profiler), by own time:"
    )
    print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--processes", type=int, default=2, help="service processes in one consumer group (replicas)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="baseline and service runs, back to back")
    parser.add_argument("--profile-events", type=int, default=200_000, help="0 to skip the profiled run")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.processes, arguments.rounds, arguments.profile_events))
    sys.exit(0)
