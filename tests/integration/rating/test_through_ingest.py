"""The example events through the real ingest service (Kafka → usage ledger → usage.aggregated)
into rating's dashboard; once closed, each period's figures equal the offline `billing run`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from rating_it_support import EXAMPLE_CONTRACT, EXAMPLE_EVENTS, REPO, billing_run

from billing_core import aggregate_events
from billing_io.events_jsonl import iter_events
from billing_runtime.kafka import create_producer
from billing_runtime.migrations import upgrade
from billing_runtime.topics import ensure_topics
from ingest.bootstrap import create_app as create_ingest_app
from ingest.settings import IngestSettings
from rating.bootstrap import create_app as create_rating_app
from rating.clock import FixedClock
from rating.settings import RatingSettings

PERIODS = ("2026-03", "2026-08", "2026-12")


@contextlib.asynccontextmanager
async def serving(app: FastAPI, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{name}", timeout=60
        ) as client,
    ):
        yield client


async def _produce_examples(settings: IngestSettings) -> None:
    producer = create_producer(settings, client_id="rating-through-ingest")
    await producer.start()
    try:
        topic = settings.topic_name("usage.events.v1")
        for line in EXAMPLE_EVENTS.read_text().splitlines():
            if line.strip():
                data = json.loads(line)["data"]
                await producer.send(
                    topic,
                    value=line.encode(),
                    key=f"{data['tenant_id']}/{data['site_id']}".encode(),
                    headers=[("content-type", b"application/cloudevents+json")],
                )
        await producer.flush()
    finally:
        await producer.stop()


async def test_dashboard_through_ingest_equals_billing_run(
    settings_factory: Callable[..., Any], schema_prefix: str, topic_prefix: str, tmp_path
):
    # A prefix of its own inside this run's, so the tenant `acme` meets no other test.
    prefixes = {"schema_prefix": f"{schema_prefix}thru_", "topic_prefix": f"{topic_prefix}thru."}
    ingest_settings = settings_factory(IngestSettings, **prefixes)
    rating_settings = settings_factory(
        RatingSettings,
        **prefixes,
        rating_run_scheduler=False,
        rating_run_outbox=False,
        rating_coalesce_seconds=0.1,
    )
    await ensure_topics(ingest_settings)
    for service in ("ingest", "invoice", "rating"):
        await asyncio.to_thread(upgrade, REPO / "services" / service, ingest_settings)

    offline_invoices = billing_run(EXAMPLE_CONTRACT, tmp_path / "out")
    expected_events = {
        str(period): sum(a.events for a in by_key.values())
        for period, by_key in aggregate_events(iter_events(EXAMPLE_EVENTS), "UTC").items()
    }

    clock = FixedClock(datetime(2027, 1, 5, tzinfo=UTC))
    async with (
        serving(create_ingest_app(ingest_settings), "ingest"),
        serving(create_rating_app(rating_settings, clock), "rating") as rating,
    ):
        put = await rating.put(
            "/v1/contracts/acme",
            content=EXAMPLE_CONTRACT.read_bytes(),
            headers={"content-type": "application/yaml"},
        )
        assert put.status_code == 201, put.text
        for period in PERIODS:  # a first figure before any usage arrived
            first = (await rating.get("/v1/dashboard", params={"tenant": "acme", "period": period})).json()
            assert first["high_water"]["event_count"] == 0
        await _produce_examples(ingest_settings)

        async def dashboard_caught_up() -> bool:
            for period in PERIODS:
                board = (
                    await rating.get("/v1/dashboard", params={"tenant": "acme", "period": period})
                ).json()
                if board["high_water"]["event_count"] != expected_events[period]:
                    return False
            return True

        for _ in range(600):
            if await dashboard_caught_up():
                break
            await asyncio.sleep(0.2)
        assert await dashboard_caught_up(), "the usage consumer did not bring the dashboard up to date"

        for month in range(1, 13):  # periods close in order from the contract start
            assert (await rating.post(f"/v1/periods/acme/2026-{month:02d}/close")).status_code == 201
        for period in PERIODS:
            board = (await rating.get("/v1/dashboard", params={"tenant": "acme", "period": period})).json()
            offline = offline_invoices[period]
            for field in ("currency", "total", "sites", "totals", "unbillable"):
                assert board["invoice"].get(field) == offline.get(field), (period, field)
            assert [(s["site"], s["total"]) for s in board["sites"]] == [
                (s["site"], s["total"]) for s in offline["sites"]
            ]
