"""SIGKILL the real `python -m ingest` process at random moments while it consumes 200,000 events.

After every restart it seeks to the positions stored with its last committed batch; whatever it had
in flight is replayed and deduplicated. The final aggregates must equal the distinct events sent,
exactly.

The broker and PostgreSQL are shared by everything running on the machine, so the test does not
restart them. What comes closest without disturbing anyone else: PostgreSQL kills every backend of
the service process mid-run (pg_terminate_backend, as a database restart looks from the client),
and the process is frozen past its Kafka session timeout (SIGSTOP), so the group coordinator drops
it and it must rejoin and resume, as after a broker outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from billing_runtime.db import create_engine
from ingest.settings import IngestSettings
from ingest.traffic import SyntheticUsage, produce

DISTINCT = 200_000
DUPLICATES = 20_000
KILLS = 6
FREEZE_SECONDS = 13  # past aiokafka's default 10 s session timeout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_service(settings: IngestSettings, group: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BILLING_DATABASE_URL": settings.database_url_value(),
        "BILLING_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "BILLING_TOPIC_PREFIX": settings.topic_prefix,
        "BILLING_SCHEMA_PREFIX": settings.schema_prefix,
        "BILLING_HTTP_PORT": str(free_port()),
        "BILLING_INGEST_CONSUMER_GROUP": group,
        "BILLING_LOG_LEVEL": "WARNING",
    }
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "ingest"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )


def tcp_ports_of(pid: int) -> list[int]:
    """Local TCP ports of the sockets a process holds (Linux /proc), to find its database sessions."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.append(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def sever_database_sessions(engine: Any, pid: int) -> int:
    async with engine.connect() as connection:
        killed = await connection.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE client_port = ANY(:ports) AND application_name = 'billing-ingest'"
            ),
            {"ports": tcp_ports_of(pid)},
        )
    return int(killed)


async def counted(engine: Any, tenants: tuple[str, ...]) -> int:
    async with engine.connect() as connection:
        value = await connection.scalar(
            text("SELECT coalesce(sum(events), 0) FROM usage_aggregates WHERE tenant_id = ANY(:t)"),
            {"t": list(tenants)},
        )
    return int(value)


async def wait_for_progress(engine: Any, tenants: tuple[str, ...], beyond: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = await counted(engine, tenants)
        if now > beyond:
            return now
        await asyncio.sleep(0.2)
    return await counted(engine, tenants)


@pytest.mark.slow
async def test_sigkill_at_random_moments_neither_loses_nor_doubles_an_event(
    ingest_settings: IngestSettings, producer: Any, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    traffic = SyntheticUsage(f"crash-{run}", (f"crash-{run}-a", f"crash-{run}-b"), sites=10)
    rng = random.Random(run)
    numbers = list(range(DISTINCT)) + [rng.randrange(DISTINCT) for _ in range(DUPLICATES)]
    rng.shuffle(numbers)
    expected: dict[tuple[str, str, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for n in range(DISTINCT):
        tenant, site, category, quantity = traffic.fields(n)
        slot = expected[(tenant, site, category)]
        slot[0] += Decimal(quantity)
        slot[1] += 1

    topic = ingest_settings.topic_name("usage.events.v1")
    producing = asyncio.create_task(produce(producer, topic, traffic.messages(numbers)))
    engine = create_engine(ingest_settings, "ingest", pool_size=1, max_overflow=0)
    group = f"crash-{run}"
    log = tmp_path / "ingest.log"
    seen, kills = 0, 0
    try:
        while kills < KILLS:
            process = start_service(ingest_settings, group, log)
            seen = await wait_for_progress(engine, traffic.tenants, seen, timeout=120)
            await asyncio.sleep(rng.uniform(0.1, 1.5))  # a random moment: mid-batch, mid-commit, mid-publish
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            kills += 1
            seen = await counted(engine, traffic.tenants)
        assert seen < DISTINCT, "the kills all came after the work was done; nothing was tested"

        process = start_service(ingest_settings, group, log)
        seen = await wait_for_progress(engine, traffic.tenants, seen, timeout=120)
        assert await sever_database_sessions(engine, process.pid) >= 1
        seen = await wait_for_progress(engine, traffic.tenants, await counted(engine, traffic.tenants), 120)
        process.send_signal(signal.SIGSTOP)
        await asyncio.sleep(FREEZE_SECONDS)
        process.send_signal(signal.SIGCONT)
        assert await producing == DISTINCT + DUPLICATES
        deadline = time.monotonic() + 240
        while await counted(engine, traffic.tenants) < DISTINCT and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # anything counted twice would show up now
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why it ended
        assert process.wait(timeout=30) in (0, -signal.SIGTERM), log.read_text()[-3000:]

        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT tenant_id, site_id, category, quantity, events FROM usage_aggregates "
                        "WHERE tenant_id = ANY(:t)"
                    ),
                    {"t": list(traffic.tenants)},
                )
            ).all()
            raw = await connection.scalar(
                text("SELECT count(*) FROM raw_events WHERE tenant_id = ANY(:t)"),
                {"t": list(traffic.tenants)},
            )
        found = {(t, s, c): [q, e] for t, s, c, q, e in rows}
        assert found == {key: value for key, value in expected.items()}
        assert raw == DISTINCT
    finally:
        producing.cancel()
        await engine.dispose()
