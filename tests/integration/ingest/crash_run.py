"""One crash scenario on a private stack: its own topics and schema, reproducible traffic with
duplicates, the real `python -m ingest` process, and reads of the ledger it leaves."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from ingest_it_support import Totals, ledger_totals, synthetic_totals
from private_stack import REPO_ROOT, PrivateStack, free_port
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import create_engine
from billing_runtime.kafka import create_producer
from billing_runtime.migrations import upgrade
from billing_runtime.topics import ensure_topics
from ingest.settings import IngestSettings
from ingest.traffic import SyntheticUsage, produce

USAGE_EVENTS = "usage.events.v1"


class IngestDied(AssertionError):
    """The service process ended without being told to; the message carries its log."""


@dataclass
class IngestProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait; uvicorn shuts down gracefully, then re-raises the signal, so a clean
        end is exit status 0 or -SIGTERM."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise IngestDied(f"ingest exited with {self.process.returncode}:\n{log_tail(self.log)}")


def log_tail(log: Path, size: int = 3000) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else "(no log)"


@dataclass
class CrashRun:
    stack: PrivateStack
    settings: IngestSettings
    engine: AsyncEngine
    traffic: SyntheticUsage
    distinct: int
    numbers: list[int]
    """Event numbers in sending order: every distinct one, plus repeats, shuffled."""
    rng: random.Random
    log: Path
    group: str

    def start_ingest(self) -> IngestProcess:
        """`python -m ingest` on the private stack; it carries the stack's marker, so the stack's
        tear-down finds it even when the test could not stop it."""
        env = {
            **os.environ,
            "BILLING_DATABASE_URL": self.settings.database_url_value(),
            "BILLING_KAFKA_BOOTSTRAP": self.settings.kafka_bootstrap,
            "BILLING_TOPIC_PREFIX": self.settings.topic_prefix,
            "BILLING_SCHEMA_PREFIX": self.settings.schema_prefix,
            "BILLING_HTTP_PORT": str(free_port()),
            "BILLING_INGEST_CONSUMER_GROUP": self.group,
            "BILLING_LOG_LEVEL": "WARNING",
            "BILLING_STACK_ID": self.stack.marker,
        }
        with self.log.open("ab") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "ingest"], env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        return IngestProcess(process, self.log)

    async def produce_all(self) -> int:
        producer = create_producer(
            self.settings, client_id="crash-test", max_batch_size=512 * 1024, max_request_size=2 * 1024 * 1024
        )
        await producer.start()
        try:
            topic = self.settings.topic_name(USAGE_EVENTS)
            return await produce(producer, topic, self.traffic.messages(self.numbers))
        finally:
            await producer.stop()

    async def _count(self, query: str) -> int:
        """``query`` (one number, over the tenants bound to ``:t``) for this run's tenants."""
        async with self.engine.connect() as connection:
            value = await connection.scalar(text(query), {"t": list(self.traffic.tenants)})
        return int(value)

    async def counted(self) -> int:
        """Distinct events in the aggregates of this run's tenants."""
        return await self._count(
            "SELECT coalesce(sum(events), 0) FROM usage_aggregates WHERE tenant_id = ANY(:t)"
        )

    async def wait_for_count(
        self, ingest: IngestProcess, beyond: int, timeout: float, poll: float = 0.2
    ) -> int:
        """Poll every ``poll`` seconds until more than ``beyond`` events are counted; fails when
        ingest dies or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            now = await self.counted()
            if now > beyond:
                return now
            ingest.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"ingest counted {now} events in {timeout:.0f} s, waiting for more than {beyond}:\n"
                    f"{log_tail(self.log)}"
                )
            await asyncio.sleep(poll)

    async def finish(self, ingest: IngestProcess, timeout: float = 180) -> int:
        """Wait until every distinct event is counted, give a replay time to show a double count,
        then stop ingest gracefully; returns its exit status."""
        await self.wait_for_count(ingest, self.distinct - 1, timeout)
        await asyncio.sleep(2)
        ingest.check_alive()
        return ingest.stop()

    def expected_totals(self) -> Totals:
        return synthetic_totals(self.traffic, self.distinct)

    async def ledger_totals(self) -> Totals:
        return await ledger_totals(self.engine, list(self.traffic.tenants))

    async def raw_events(self) -> int:
        return await self._count("SELECT count(*) FROM raw_events WHERE tenant_id = ANY(:t)")


@contextlib.asynccontextmanager
async def crash_run(
    stack: PrivateStack, log_dir: Path, *, distinct: int, duplicates: int
) -> AsyncIterator[CrashRun]:
    """Topics and the ingest schema of this scenario alone on the private stack, and its traffic:
    ``distinct`` events plus ``duplicates`` repeats of random ones, in random order."""
    run = uuid.uuid4().hex[:8]
    settings = IngestSettings(
        environment="test",
        database_url=SecretStr(stack.database_url),
        kafka_bootstrap=stack.kafka_bootstrap,
        topic_prefix=f"crash.{run}.",
        schema_prefix=f"c_{run}_",
    )
    await ensure_topics(settings)
    await asyncio.to_thread(upgrade, REPO_ROOT / "services" / "ingest", settings)
    rng = random.Random(run)
    numbers = list(range(distinct)) + [rng.randrange(distinct) for _ in range(duplicates)]
    rng.shuffle(numbers)
    engine = create_engine(settings, "ingest", pool_size=1, max_overflow=0)
    try:
        yield CrashRun(
            stack=stack,
            settings=settings,
            engine=engine,
            traffic=SyntheticUsage(f"crash-{run}", (f"crash-{run}-a", f"crash-{run}-b"), sites=10),
            distinct=distinct,
            numbers=numbers,
            rng=rng,
            log=log_dir / f"ingest-{run}.log",
            group=f"crash-{run}",
        )
    finally:
        await engine.dispose()
