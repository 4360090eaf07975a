"""Dashboard freshness: from producing a usage event to its effect in GET /v1/dashboard.

Runs against the Kafka and PostgreSQL that `make up` started, in topics and schemas of its own
(removed afterwards), with its own ingest and rating processes (`python -m ingest`,
`python -m rating` on spare ports), kept running across the rates of one run. For each rate, a tenant
of its own:

1. a producer process sends usage events at the rate, paced against the clock (it catches up when
   a send took long, so the achieved rate is the requested one unless the producer cannot keep up;
   the achieved rate is printed);
2. every probe interval it records (time handed to the producer, events sent by then);
3. this process polls rating's GET /v1/dashboard and ingest's GET /v1/usage (each every 20 ms, on a
   fixed schedule, so the polling load is the same whatever the answer times) and records every
   answer's arrival time and distinct event count. A probe's latency is the time from its production
   to the arrival of the first answer covering it. Ingest's own read is the baseline measured in
   the same run; the difference per probe is the latency rating adds.

The producer runs in a process of its own so that sending and polling do not delay each other's
clocks (both read CLOCK_MONOTONIC, which is system-wide). Also printed: the CPU time the ingest and
rating processes used per rate, which moves far less with other load on the machine than wall time.

Usage: python bench/bench_dashboard.py [--rates 2500,5000,6000,7500,10000,20000] [--seconds 20] [--warmup 3]
       [--rating-src DIR]   (run rating from another source tree, e.g. an older commit, to compare)
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from billing_core import period_of
from billing_runtime.db import create_engine, drop_schema
from billing_runtime.kafka import create_producer
from billing_runtime.migrations import upgrade
from billing_runtime.settings import ServiceSettings
from billing_runtime.topics import delete_prefixed_topics, ensure_topics
from ingest.traffic import STRUCTURED_HEADERS, Message, produce

ROOT = Path(__file__).resolve().parent.parent
SITES = ("nyc-01", "bos-02", "chi-03", "den-05")
CATEGORIES = ("standard", "expedited", "storage")
TARGET_SECONDS = 1.0
SUSTAINED = 0.98
"""Share of the requested rate the producer must reach for a rate's figures to count."""
EVENT = (
    '{"specversion":"1.0","id":"%s","source":"urn:bench:dashboard","type":"ai.platform.unit.processed.v1",'
    '"time":"%s","datacontenttype":"application/json",'
    '"data":{"tenant_id":"%s","site_id":"%s","category":"%s","quantity":"1"}}'
)
SEND_TICK = 0.01
POLL_SECONDS = 0.02


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
class Produced:
    """What the producer process reports back."""

    probes: list[tuple[float, int]]
    sent: int
    seconds: float
    behind: float
    """Largest lag behind the schedule at the start of a send, in seconds."""


@dataclass
class Answers:
    """Every answer of one reader: (arrival time, distinct events covered), in arrival order."""

    times: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def add(self, at: float, count: int) -> None:
        self.times.append(at)
        self.counts.append(max(count, self.counts[-1] if self.counts else 0))

    def first_covering(self, needed: int) -> float | None:
        index = bisect_left(self.counts, needed)
        return self.times[index] if index < len(self.times) else None


def messages_for(tenant: str, count: int) -> list[Message]:
    now_text = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return [
        Message(
            f"{tenant}/{SITES[i % len(SITES)]}".encode(),
            (EVENT % (f"{tenant}-{i}", now_text, tenant, SITES[i % len(SITES)], CATEGORIES[i % 3])).encode(),
            STRUCTURED_HEADERS,
        )
        for i in range(count)
    ]


async def produce_at_rate(
    settings: ServiceSettings, tenant: str, rate: int, seconds: float, interval: float
) -> Produced:
    producer = create_producer(settings, client_id="bench-dashboard", max_batch_size=1024 * 1024)
    await producer.start()
    topic = settings.topic_name("usage.events.v1")
    total = int(rate * seconds)
    # Built before the clock starts so the producer spends its time sending, not formatting.
    messages = messages_for(tenant, total)
    await producer.partitions_for(topic)  # the topic's metadata, fetched before the clock starts
    probes: list[tuple[float, int]] = []
    sent, behind = 0, 0.0
    started = time.monotonic()
    next_probe = started
    try:
        while sent < total:
            now = time.monotonic()
            due = min(total, int(rate * (now - started)))
            if due > sent:
                behind = max(behind, now - started - sent / rate)
                await produce(producer, topic, messages[sent:due])
                sent = due
                # The probe's time is when its last event was handed over, or earlier: never late.
                if now >= next_probe:
                    probes.append((now, sent))
                    next_probe = now + interval
            await asyncio.sleep(max(0.001, now + SEND_TICK - time.monotonic()))
    finally:
        await producer.stop()
    return Produced(probes, sent, time.monotonic() - started, behind)


def producer_process(
    settings_data: dict[str, Any], tenant: str, rate: int, seconds: float, interval: float, out: Connection
) -> None:
    settings = ServiceSettings(**settings_data)
    produced = asyncio.run(produce_at_rate(settings, tenant, rate, seconds, interval))
    out.send((produced.probes, produced.sent, produced.seconds, produced.behind))
    out.close()


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


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


async def poll(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, str],
    read: str,
    answers: Answers,
    stop: asyncio.Event,
) -> None:
    """GET every POLL_SECONDS on a fixed schedule, so both services see the same request rate
    whatever their answer time (a slow answer delays the next GET, never adds extra ones)."""
    next_at = time.monotonic()
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
                answers.add(time.monotonic(), count)
        except (httpx.HTTPError, KeyError, ValueError):
            pass
        next_at = max(next_at + POLL_SECONDS, time.monotonic())
        await asyncio.sleep(next_at - time.monotonic())


@dataclass
class Figures:
    rate: int
    seconds: float
    achieved: float
    behind: float
    ingest: list[float]
    dashboard: list[float]
    added: list[float]
    unresolved: int
    cpu: dict[str, float]
    flushes: dict[str, float]
    """Deltas of rating's flush histograms (``..._sum``/``..._count``) over the rate's run."""


FLUSH_METRICS = ("rating_dashboard_flush_seconds", "rating_dashboard_notification_age_seconds")


async def flush_metrics(client: httpx.AsyncClient, rating_url: str) -> dict[str, float]:
    """Sums and counts of rating's flush histograms (absent from a rating without them)."""
    values: dict[str, float] = {}
    try:
        text = (await client.get(f"{rating_url}/metrics")).text
    except httpx.HTTPError:
        return values
    for row in text.splitlines():
        name, _, value = row.partition(" ")
        if name.removesuffix("_sum").removesuffix("_count") in FLUSH_METRICS:
            values[name] = float(value)
    return values


def line(name: str, values: list[float], unresolved: int = 0) -> str:
    if not values:
        return f"  {name:<24} no probe resolved"
    p50, p99 = percentile(values, 0.50), percentile(values, 0.99)
    return (
        f"  {name:<24} probes={len(values):4d}  p50={p50 * 1000:7.0f} ms  p99={p99 * 1000:7.0f} ms  "
        f"max={max(values) * 1000:7.0f} ms  mean={statistics.fmean(values) * 1000:7.0f} ms"
        + (f"  unresolved={unresolved}" if unresolved else "")
    )


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        run = secrets.token_hex(3)
        env = stack_env()
        self.base = {
            "BILLING_TOPIC_PREFIX": f"bench.{run}.",
            "BILLING_SCHEMA_PREFIX": f"bd{run}_",
            "BILLING_LOG_LEVEL": "WARNING",
            **{k: v for k, v in env.items() if k in ("BILLING_DATABASE_URL", "BILLING_KAFKA_BOOTSTRAP")},
        }
        self.settings_data = {
            k.removeprefix("BILLING_").lower(): v for k, v in self.base.items() if k != "BILLING_LOG_LEVEL"
        }
        self.settings = ServiceSettings(**self.settings_data)

    async def rate(
        self,
        client: httpx.AsyncClient,
        urls: dict[str, str],
        pids: dict[str, int],
        rate: int,
        seconds: float,
        tenant: str,
    ) -> Figures:
        args = self.args
        contract = (
            (ROOT / "examples" / "contract.yaml").read_text().replace("tenant: acme", f"tenant: {tenant}")
        )
        put = await client.put(
            f"{urls['rating']}/v1/contracts/{tenant}",
            content=contract,
            headers={"content-type": "application/yaml"},
        )
        put.raise_for_status()
        params = {"tenant": tenant, "period": str(period_of(datetime.now(UTC), "UTC"))}
        answers = {"dashboard": Answers(), "usage": Answers()}
        stop = asyncio.Event()
        pollers = [
            asyncio.create_task(
                poll(
                    client, f"{urls['rating']}/v1/dashboard", params, "dashboard", answers["dashboard"], stop
                )
            ),
            asyncio.create_task(
                poll(client, f"{urls['ingest']}/v1/usage", params, "usage", answers["usage"], stop)
            ),
        ]
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        flushes_before = await flush_metrics(client, urls["rating"])
        receive, send = multiprocessing.get_context("spawn").Pipe(duplex=False)
        producer = multiprocessing.get_context("spawn").Process(
            target=producer_process,
            args=(self.settings_data, tenant, rate, seconds, args.probe_interval, send),
        )
        producer.start()
        produced = Produced(*await asyncio.to_thread(receive.recv))
        await asyncio.to_thread(producer.join)
        deadline = time.monotonic() + max(30.0, 2 * seconds)
        while time.monotonic() < deadline and any(
            a.first_covering(produced.sent) is None for a in answers.values()
        ):
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*pollers)
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}
        flushes = await flush_metrics(client, urls["rating"])
        flushes = {name: value - flushes_before.get(name, 0.0) for name, value in flushes.items()}
        first = produced.probes[0][0] if produced.probes else 0.0
        counted = [(at, n) for at, n in produced.probes if at - first >= args.warmup]
        ingest, dashboard, added, unresolved = [], [], [], 0
        for at, needed in counted:
            seen_usage = answers["usage"].first_covering(needed)
            seen_dashboard = answers["dashboard"].first_covering(needed)
            if seen_usage is not None:
                ingest.append(seen_usage - at)
            if seen_dashboard is not None:
                dashboard.append(seen_dashboard - at)
            else:
                unresolved += 1
            if seen_usage is not None and seen_dashboard is not None:
                added.append(seen_dashboard - seen_usage)
        return Figures(
            rate,
            seconds,
            produced.sent / produced.seconds,
            produced.behind,
            ingest,
            dashboard,
            added,
            unresolved,
            cpu,
            flushes,
        )

    async def run(self) -> list[Figures]:
        await ensure_topics(self.settings)
        for service in ("ingest", "invoice", "rating"):
            await asyncio.to_thread(upgrade, ROOT / "services" / service, self.settings)
        ports = {"ingest": free_port(), "rating": free_port()}
        logs = ROOT / ".local" / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        rating_env = {**self.base, "BILLING_RATING_RUN_SCHEDULER": "false"}
        if self.args.rating_src:
            rating_env["PYTHONPATH"] = str(Path(self.args.rating_src).resolve())
        processes = {
            "ingest": start_service(
                "ingest", ports["ingest"], self.base, logs / "bench-dashboard-ingest.log"
            ),
            "rating": start_service(
                "rating", ports["rating"], rating_env, logs / "bench-dashboard-rating.log"
            ),
        }
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        results: list[Figures] = []
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                for name in ("ingest", "rating"):
                    await wait_ready(client, f"{urls[name]}/readyz")
                pids = {name: process.pid for name, process in processes.items()}
                # Until both consumers have joined their groups and both readers show events, a
                # first rate would measure the start-up; a few events warm the path up first.
                await self.rate(client, urls, pids, 500, 2.0, "bench-warmup")
                for rate in self.args.rates:
                    figures = await self.rate(client, urls, pids, rate, self.args.seconds, f"bench-{rate}")
                    results.append(figures)
                    report(figures, self.args)
                    if figures.unresolved:
                        print(
                            f"  stopping the sweep: events of {rate:,}/s were still not shown "
                            "after the drain wait"
                        )
                        break
        finally:
            for process in processes.values():
                process.terminate()
            for process in processes.values():
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            engine = create_engine(self.settings, "public", pool_size=1, max_overflow=0)
            try:
                for service in ("ingest", "invoice", "rating"):
                    await drop_schema(engine, self.settings.schema_name(service))
            finally:
                await engine.dispose()
            await delete_prefixed_topics(self.settings)
        return results


def report(figures: Figures, args: argparse.Namespace) -> None:
    print(
        f"rate {figures.rate:,}/s for {args.seconds:.0f}s: achieved {figures.achieved:,.0f}/s "
        f"(at most {figures.behind * 1000:.0f} ms behind schedule); probes every "
        f"{args.probe_interval * 1000:.0f} ms, first {args.warmup:.0f}s not counted"
    )
    if figures.achieved < SUSTAINED * figures.rate:
        print(
            "  the producer did not sustain this rate (the machine was too busy): not a figure at this rate"
        )
    print(line("baseline: ingest usage", figures.ingest))
    print(line("rating dashboard", figures.dashboard, figures.unresolved))
    print(line("added by rating", figures.added))
    events = figures.rate * figures.seconds
    print(
        "  CPU per event (polling included): "
        + ", ".join(f"{name} {seconds / events * 1e6:.1f} us" for name, seconds in figures.cpu.items())
    )
    flushes = figures.flushes
    count = flushes.get("rating_dashboard_flush_seconds_count", 0.0)
    if count:
        ages = flushes.get("rating_dashboard_notification_age_seconds_count", 0.0)
        age = (
            flushes.get("rating_dashboard_notification_age_seconds_sum", 0.0) / ages if ages else float("nan")
        )
        flush_ms = flushes["rating_dashboard_flush_seconds_sum"] / count * 1000
        print(
            f"  rating flushes: {count:.0f}, mean {flush_ms:.1f} ms"
            f" each; oldest notification's age when its flush was stored: mean {age * 1000:.0f} ms"
        )
    if figures.ingest and figures.dashboard:
        ratio = percentile(figures.dashboard, 0.99) / percentile(figures.ingest, 0.99)
        print(f"  ratio dashboard p99 / ingest p99 = {ratio:.2f}")


def summary(results: list[Figures]) -> None:
    print(f"load average (1/5/15 min): {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(
        f"{'rate/s':>8} {'achieved':>9} {'ingest p50/p99 ms':>18} "
        f"{'dashboard p50/p99 ms':>21} {'added p50/p99 ms':>17}"
    )
    for f in results:

        def pair(values: list[float]) -> str:
            if not values:
                return "-"
            return f"{percentile(values, 0.5) * 1000:.0f} / {percentile(values, 0.99) * 1000:.0f}"

        print(
            f"{f.rate:>8,} {f.achieved:>9,.0f} {pair(f.ingest):>18} "
            f"{pair(f.dashboard):>21} {pair(f.added):>17}"
        )
    within = [
        f.rate
        for f in results
        if f.dashboard
        and not f.unresolved
        and percentile(f.dashboard, 0.99) < TARGET_SECONDS
        and f.achieved >= SUSTAINED * f.rate
    ]
    if within:
        print(f"highest rate with dashboard p99 < {TARGET_SECONDS * 1000:.0f} ms: {max(within):,}/s")
    else:
        print(f"no rate kept the dashboard p99 under {TARGET_SECONDS * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--rates",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[2500, 5000, 6000, 7500, 10000, 20000],
        help="comma-separated events/s, run in this order on the same processes",
    )
    parser.add_argument("--rate", type=int, help="a single rate (same as --rates RATE)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--warmup", type=float, default=3.0, help="probes in the first seconds are not counted"
    )
    parser.add_argument("--probe-interval", type=float, default=0.2)
    parser.add_argument("--rating-src", help="source folder put first on rating's PYTHONPATH")
    args = parser.parse_args()
    if args.rate:
        args.rates = [args.rate]
    summary(asyncio.run(Bench(args).run()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
