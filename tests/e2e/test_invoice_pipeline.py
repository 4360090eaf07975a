"""The whole pipeline on the examples: contract through the rating API, events through Kafka,
every period closed in turn, and each issued invoice equal to what `billing run` computes offline.

Rating and invoicing run on a pinned clock a few days after the last example period, so the
periods can be closed (they have ended) whatever the date the test runs on."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from billing_core import Period, aggregate_events
from billing_io.events_jsonl import read_events
from billing_runtime.kafka import create_producer
from ingest.bootstrap import create_app as create_ingest_app
from ingest.settings import IngestSettings
from invoice.bootstrap import create_app as create_invoice_app
from invoice.settings import InvoiceSettings
from rating.bootstrap import create_app as create_rating_app
from rating.clock import FixedClock
from rating.settings import RatingSettings

REPO = Path(__file__).resolve().parents[2]
CONTRACT = REPO / "examples" / "contract.yaml"
EVENTS = REPO / "examples" / "events.jsonl"
THROUGH = "2026-11"
COMPARED = ("currency", "total", "sites", "totals", "summary", "unbillable")
NOW = Period.parse(THROUGH).end("UTC") + timedelta(days=3, hours=9)
"""Every example period has ended (and its grace passed) by then, on any real date."""


def pinned_now() -> datetime:
    return NOW


async def wait_for(what: str, probe: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.3)


@contextlib.asynccontextmanager
async def serving(app: FastAPI, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{name}", timeout=60
        ) as client,
    ):
        yield client


@pytest_asyncio.fixture(scope="module")
async def offline(tmp_path_factory: Any) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("offline")
    subprocess.run(
        [
            str(Path(sys.executable).with_name("billing")),
            "run",
            "--contract",
            str(CONTRACT),
            "--events",
            str(EVENTS),
            "--out",
            str(out),
            "--through",
            THROUGH,
        ],
        check=True,
        capture_output=True,
    )
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        for path in sorted(out.glob("*/invoice.json"))
    }


async def produce_examples(settings: IngestSettings) -> int:
    producer = create_producer(settings, client_id="e2e-events")
    await producer.start()
    count = 0
    try:
        topic = settings.topic_name("usage.events.v1")
        for line in EVENTS.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            data = json.loads(line)["data"]
            await producer.send(
                topic,
                value=line.encode("utf-8"),
                key=f"{data['tenant_id']}/{data['site_id']}".encode(),
                headers=[("content-type", b"application/cloudevents+json")],
            )
            count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return count


async def test_every_closed_period_is_invoiced_as_billing_run_computes(
    migrate: Callable[[str], Any],
    settings_factory: Callable[..., Any],
    catalogue_topics: tuple[str, ...],
    offline: dict[str, dict[str, Any]],
) -> None:
    for service in ("ingest", "rating", "invoice"):
        await migrate(service)
    expected_events = {
        str(period): sum(aggregate.events for aggregate in usage.values())
        for period, usage in aggregate_events(read_events(EVENTS), "UTC").items()
    }
    usage_periods = sorted(offline)
    assert usage_periods[-1] == THROUGH

    async with (
        serving(create_ingest_app(settings_factory(IngestSettings)), "ingest") as ingest,
        serving(create_rating_app(settings_factory(RatingSettings), FixedClock(NOW)), "rating") as rating,
        serving(create_invoice_app(settings_factory(InvoiceSettings), clock=pinned_now), "invoice") as bills,
    ):
        put = await rating.put(
            "/v1/contracts/acme", content=CONTRACT.read_bytes(), headers={"content-type": "application/yaml"}
        )
        assert put.status_code in (200, 201), put.text
        await produce_examples(settings_factory(IngestSettings))

        async def usage_complete() -> bool:
            for period, events in expected_events.items():
                response = await ingest.get("/v1/usage", params={"tenant": "acme", "period": period})
                if response.status_code != 200:
                    return False
                if sum(row["events"] for row in response.json()["sites"]) != events:
                    return False
            return True

        await wait_for("ingest to store every example event", usage_complete, timeout=180)

        for period in usage_periods:
            closed = await rating.post(f"/v1/periods/acme/{period}/close")
            assert closed.status_code in (200, 201), closed.text

            async def issued(period: str = period) -> dict[str, Any] | None:
                listing = (
                    await bills.get("/v1/invoices", params={"tenant": "acme", "period": period})
                ).json()
                found = [entry for entry in listing["invoices"] if entry["status"] == "issued"]
                return found[0] if found else None

            entry = await wait_for(f"the invoice of {period}", issued)
            body = await bills.get(f"/v1/invoices/{entry['number']}")
            data = json.loads(body.content, parse_float=Decimal)
            assert entry["number"].startswith(f"TEST-{NOW.year}-")
            assert entry["issue_date"] == NOW.date().isoformat()
            for field in COMPARED:
                assert data[field] == offline[period][field], (period, field)
            pdf = await bills.get(f"/v1/invoices/{entry['number']}.pdf")
            assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
