"""Dashboard freshness: from producing a usage event to its effect in GET /v1/dashboard.

Runs against the Kafka and PostgreSQL that `make up` started, in topics and schemas of its own
(removed afterwards), with its own ingest and rating processes (`python -m ingest`,
`python -m rating` on spare ports):

1. produce usage events for one tenant at a sustained rate (default 20,000/s) to usage.events.v1;
2. every probe interval, remember (time, events produced so far);
3. poll rating's GET /v1/dashboard and ingest's GET /v1/usage; a probe is seen once the figure's
   distinct event count covers it. Ingest's own read is the baseline measured in the same run:
   the ratio says how much later than the usage ledger the dashboard shows an event.

Usage: python bench/bench_dashboard.py [--rate 20000] [--seconds 20] [--warmup 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from billing_core import period_of
from billing_runtime.db import create_engine, drop_schema
from billing_runtime.kafka import create_producer
from billing_runtime.migrations import upgrade
from billing_runtime.settings import ServiceSettings
from billing_runtime.topics import delete_prefixed_topics, ensure_topics
from ingest.traffic import Message, produce, structured_message, usage_cloudevent

ROOT = Path(__file__).resolve().parent.parent
TENANT = "bench"
SITES = ("nyc-01", "bos-02", "chi-03", "den-05")
CATEGORIES = ("standard", "expedited", "storage")


def stack_env() -> dict[str, str]:
    values: dict[str, str] = {}
    env_file = ROOT / ".local" / "stack.env"
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    values.update(
        {k: v for k, v in os.environ.items() if k in ("BILLING_DATABASE_URL", "BILLING_KAFKA_BOOTSTRAP")}
    )
    return values


@dataclass
class Probes:
    """(time produced, events produced by then), resolved by whichever reader first covers them."""

    sent: list[tuple[float, int]] = field(default_factory=list)
    seen: dict[int, float] = field(default_factory=dict)

    def observe(self, count: int, now: float) -> None:
        for index, (_, needed) in enumerate(self.sent):
            if index not in self.seen and needed <= count:
                self.seen[index] = now

    def latencies(self) -> list[float]:
        return [self.seen[i] - self.sent[i][0] for i in sorted(self.seen)]

    def pending(self) -> int:
        return len(self.sent) - len(self.seen)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_service(module: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    full = {**os.environ, **env, "BILLING_HTTP_PORT": str(port)}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], env=full, stdout=out, stderr=subprocess.STDOUT
        )


async def wait_ready(client: httpx.AsyncClient, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await client.get(url)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.3)
    raise SystemExit(f"{url} did not become ready within {timeout:.0f}s")


async def produce_at_rate(
    settings: ServiceSettings, rate: int, seconds: float, probes: Probes, interval: float
) -> int:
    producer = create_producer(settings, client_id="bench-dashboard", max_batch_size=1024 * 1024, linger_ms=5)
    await producer.start()
    topic = settings.topic_name("usage.events.v1")
    tick = 0.05
    per_tick = max(1, int(rate * tick))
    now_text = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    total = per_tick * int(seconds / tick)
    # Built before the clock starts so the generator spends its time sending, not formatting.
    messages: list[Message] = [
        structured_message(
            usage_cloudevent(
                f"e{i}",
                tenant=TENANT,
                site=SITES[i % len(SITES)],
                category=CATEGORIES[i % len(CATEGORIES)],
                time=now_text,
                source="urn:bench:dashboard",
            )
        )
        for i in range(total)
    ]
    sent = 0
    started = time.perf_counter()
    next_probe = started
    try:
        while sent < total:
            tick_start = time.perf_counter()
            produced_at = time.perf_counter()
            await produce(producer, topic, messages[sent : sent + per_tick])
            sent += per_tick
            if produced_at >= next_probe:
                probes.sent.append((produced_at, sent))
                next_probe = produced_at + interval
            await asyncio.sleep(max(0.0, tick - (time.perf_counter() - tick_start)))
    finally:
        await producer.stop()
    elapsed = time.perf_counter() - started
    print(f"produced {sent:,} events in {elapsed:.1f}s ({sent / elapsed:,.0f}/s sustained)")
    return sent


async def poll(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    read: str,
    probes: Probes,
    stop: asyncio.Event,
) -> None:
    while not stop.is_set():
        try:
            response = await client.get(url, params=params)
            if response.status_code == 200:
                body = response.json()
                count = (
                    body["high_water"]["event_count"]
                    if read == "dashboard"
                    else sum(int(row["events"]) for row in body.get("sites", []))
                )
                probes.observe(count, time.perf_counter())
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        await asyncio.sleep(0.02)


def report(name: str, values: list[float], pending: int) -> float:
    if not values:
        print(f"{name:<22} no probe resolved ({pending} pending)")
        return float("nan")
    p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
    print(
        f"{name:<22} probes={len(values):4d}  p50={p50 * 1000:7.0f} ms  p99={p99 * 1000:7.0f} ms  "
        f"max={max(values) * 1000:7.0f} ms  mean={statistics.fmean(values) * 1000:7.0f} ms  "
        f"unresolved={pending}"
    )
    return p99


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="probes in the first seconds are not counted"
    )
    parser.add_argument("--probe-interval", type=float, default=0.2)
    args = parser.parse_args()

    run = secrets.token_hex(3)
    env = stack_env()
    base = {
        "BILLING_TOPIC_PREFIX": f"bench.{run}.",
        "BILLING_SCHEMA_PREFIX": f"bd{run}_",
        "BILLING_LOG_LEVEL": "WARNING",
        **{k: v for k, v in env.items() if k in ("BILLING_DATABASE_URL", "BILLING_KAFKA_BOOTSTRAP")},
    }
    settings = ServiceSettings(
        topic_prefix=base["BILLING_TOPIC_PREFIX"],
        schema_prefix=base["BILLING_SCHEMA_PREFIX"],
        **{
            k.removeprefix("BILLING_").lower(): v
            for k, v in env.items()
            if k in ("BILLING_DATABASE_URL", "BILLING_KAFKA_BOOTSTRAP")
        },
    )
    await ensure_topics(settings)
    for service in ("ingest", "invoice", "rating"):
        await asyncio.to_thread(upgrade, ROOT / "services" / service, settings)
    ingest_port, rating_port = free_port(), free_port()
    logs = ROOT / ".local" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes = [
        start_service("ingest", ingest_port, base, logs / "bench-dashboard-ingest.log"),
        start_service(
            "rating",
            rating_port,
            {**base, "BILLING_RATING_RUN_SCHEDULER": "false"},
            logs / "bench-dashboard-rating.log",
        ),
    ]
    rating_url, ingest_url = f"http://127.0.0.1:{rating_port}", f"http://127.0.0.1:{ingest_port}"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            await wait_ready(client, f"{ingest_url}/readyz")
            await wait_ready(client, f"{rating_url}/readyz")
            contract = (
                (ROOT / "examples" / "contract.yaml").read_text().replace("tenant: acme", f"tenant: {TENANT}")
            )
            put = await client.put(
                f"{rating_url}/v1/contracts/{TENANT}",
                content=contract,
                headers={"content-type": "application/yaml"},
            )
            put.raise_for_status()
            period = str(period_of(datetime.now(UTC), "UTC"))
            params = {"tenant": TENANT, "period": period}
            shared = Probes()
            dashboard, ledger = Probes(sent=shared.sent), Probes(sent=shared.sent)
            stop = asyncio.Event()
            pollers = [
                asyncio.create_task(
                    poll(client, f"{rating_url}/v1/dashboard", params, "dashboard", dashboard, stop)
                ),
                asyncio.create_task(poll(client, f"{ingest_url}/v1/usage", params, "usage", ledger, stop)),
            ]
            await produce_at_rate(settings, args.rate, args.seconds, shared, args.probe_interval)
            deadline = time.monotonic() + 30
            while (dashboard.pending() or ledger.pending()) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            stop.set()
            await asyncio.gather(*pollers)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        engine = create_engine(settings, "public", pool_size=1, max_overflow=0)
        try:
            for service in ("ingest", "invoice", "rating"):
                await drop_schema(engine, settings.schema_name(service))
        finally:
            await engine.dispose()
        await delete_prefixed_topics(settings)

    first = shared.sent[0][0] if shared.sent else 0.0
    counted = [i for i, (at, _) in enumerate(shared.sent) if at - first >= args.warmup]

    def kept(probes: Probes) -> list[float]:
        return [probes.seen[i] - shared.sent[i][0] for i in counted if i in probes.seen]

    print(f"load average during the run (1/5/15 min): {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"target rate {args.rate:,}/s for {args.seconds:.0f}s; probes every "
        f"{args.probe_interval * 1000:.0f} ms, first {args.warmup:.0f}s not counted"
    )
    base_p99 = report("baseline: ingest usage", kept(ledger), sum(1 for i in counted if i not in ledger.seen))
    dash_p99 = report("rating dashboard", kept(dashboard), sum(1 for i in counted if i not in dashboard.seen))
    added = [dashboard.seen[i] - ledger.seen[i] for i in counted if i in dashboard.seen and i in ledger.seen]
    report("added by rating", added, 0)
    print(f"ratio dashboard p99 / ingest p99 = {dash_p99 / base_p99:.2f}   (target: dashboard p99 < 1000 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
