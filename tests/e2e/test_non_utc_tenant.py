"""A tenant billed in New York months, end to end: some usage reaches ingest before its contract
(and is grouped in UTC months until the contract's zone arrives), the contract is loaded through
the rating API, the rest of the usage follows, and every closed period's invoice equals what
`billing run` computes offline for the same contract and events, boundary events included."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from test_invoice_pipeline import COMPARED, serving, wait_for

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
TENANT = "acme-newyork"
ZONE = "America/New_York"
THROUGH = "2026-03"
NOW = Period.parse(THROUGH).end(ZONE) + timedelta(days=3, hours=9)
SITES = ("nyc-01", "bos-02", "chi-03", "den-05")
CATEGORIES = ("standard", "expedited", "review", "storage")
BOUNDARY_TIMES = (
    "2026-01-01T05:00:00Z",  # the first instant of the contract in New York
    "2026-02-01T03:00:00Z",  # UTC February, New York January
    "2026-02-01T04:59:59.999Z",  # New York January's last millisecond
    "2026-02-01T05:00:00Z",  # New York February's first instant
    "2026-03-01T04:30:00Z",  # UTC March, New York February
    "2026-03-08T06:59:00Z",  # just before the change to daylight saving time
    "2026-03-31T23:59:00Z",
    "2026-04-01T02:00:00Z",  # UTC April, New York March
    "2026-04-01T03:59:59Z",  # New York March's last second (EDT)
)


def pinned_now() -> datetime:
    return NOW


def contract_text() -> str:
    """The example contract, for another tenant, in New York months."""
    text = (REPO / "examples" / "contract.yaml").read_text(encoding="utf-8")
    text = text.replace("tenant: acme\n", f"tenant: {TENANT}\n").replace(
        "timezone: UTC\n", f"timezone: {ZONE}\n"
    )
    assert f"tenant: {TENANT}\n" in text and f"timezone: {ZONE}\n" in text
    return text


def events_lines() -> list[str]:
    """The boundary instants, then a spread of usage over January to March in New York."""
    start = datetime(2026, 1, 1, 5, tzinfo=UTC)
    times = [start + timedelta(hours=31 * n + n % 7) for n in range(70)]
    stamps = [t.isoformat().replace("+00:00", "Z") for t in times if t < datetime(2026, 4, 1, 4, tzinfo=UTC)]
    lines = []
    for n, stamp in enumerate([*BOUNDARY_TIMES, *stamps]):
        event = {
            "specversion": "1.0",
            "id": f"{TENANT}-{n}",
            "source": "urn:platform:us:e2e",
            "type": "ai.platform.unit.processed.v1",
            "time": stamp,
            "datacontenttype": "application/json",
            "data": {
                "tenant_id": TENANT,
                "site_id": SITES[n % len(SITES)],
                "category": CATEGORIES[n % 3] if n % 5 else "storage",
                "quantity": str(Decimal(10 + n * 37 % 90) / 4),
            },
        }
        lines.append(json.dumps(event))
    return lines


def offline_invoices(contract: Path, events: Path, out: Path) -> dict[str, dict[str, Any]]:
    subprocess.run(
        [
            str(Path(sys.executable).with_name("billing")), "run", "--contract", str(contract),
            "--events", str(events), "--out", str(out), "--through", THROUGH,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        for path in sorted(out.glob("*/invoice.json"))
    }


def events_per_period(events: Path, zone: str) -> dict[str, int]:
    return {
        str(period): sum(aggregate.events for aggregate in usage.values())
        for period, usage in aggregate_events(read_events(events), zone).items()
    }


async def produce(settings: IngestSettings, lines: list[str]) -> None:
    producer = create_producer(settings, client_id="e2e-non-utc")
    await producer.start()
    try:
        for line in lines:
            site = json.loads(line)["data"]["site_id"]
            await producer.send(
                settings.topic_name("usage.events.v1"),
                value=line.encode(),
                key=f"{TENANT}/{site}".encode(),
                headers=[("content-type", b"application/cloudevents+json")],
            )
        await producer.flush()
    finally:
        await producer.stop()


async def test_a_new_york_tenant_is_invoiced_as_billing_run_computes(
    migrate: Callable[[str], Any],
    settings_factory: Callable[..., Any],
    catalogue_topics: tuple[str, ...],
    tmp_path: Path,
) -> None:
    for service in ("ingest", "rating", "invoice"):
        await migrate(service)
    contract, events = tmp_path / "contract.yaml", tmp_path / "events.jsonl"
    contract.write_text(contract_text(), encoding="utf-8")
    lines = events_lines()
    events.write_text("\n".join(lines) + "\n", encoding="utf-8")
    offline = offline_invoices(contract, events, tmp_path / "offline")
    in_new_york = events_per_period(events, ZONE)
    assert sorted(offline) == ["2026-01", "2026-02", "2026-03"] == sorted(in_new_york)
    assert in_new_york != events_per_period(events, "UTC"), "the boundary events must tell the zones apart"
    early, late = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    (tmp_path / "early.jsonl").write_text("\n".join(early) + "\n", encoding="utf-8")
    early_in_utc = events_per_period(tmp_path / "early.jsonl", "UTC")
    assert early_in_utc != events_per_period(tmp_path / "early.jsonl", ZONE), "early events cross boundaries"
    ingest_settings = settings_factory(IngestSettings)

    async with (
        serving(create_ingest_app(ingest_settings), "ingest") as ingest,
        serving(create_rating_app(settings_factory(RatingSettings), FixedClock(NOW)), "rating") as rating,
        serving(create_invoice_app(settings_factory(InvoiceSettings), clock=pinned_now), "invoice") as bills,
    ):

        async def counted() -> dict[str, int]:
            found = {}
            for period in ("2025-12", *in_new_york, "2026-04"):
                response = await ingest.get("/v1/usage", params={"tenant": TENANT, "period": period})
                response.raise_for_status()
                events = sum(row["events"] for row in response.json()["sites"])
                if events:
                    found[period] = events
            return found

        await produce(ingest_settings, early)

        async def early_in_utc_months() -> bool:
            return await counted() == early_in_utc

        await wait_for("the early usage, in UTC months while the contract is unknown", early_in_utc_months)
        put = await rating.put(
            f"/v1/contracts/{TENANT}",
            content=contract.read_bytes(),
            headers={"content-type": "application/yaml"},
        )
        assert put.status_code in (200, 201), put.text
        await produce(ingest_settings, late)

        async def in_contract_months() -> bool:
            return await counted() == in_new_york

        await wait_for("ingest to hold every event in New York months", in_contract_months, timeout=120)

        for period in sorted(offline):
            closed = await rating.post(f"/v1/periods/{TENANT}/{period}/close")
            assert closed.status_code in (200, 201), closed.text

            async def issued(period: str = period) -> dict[str, Any] | None:
                listing = (
                    await bills.get("/v1/invoices", params={"tenant": TENANT, "period": period})
                ).json()
                found = [entry for entry in listing["invoices"] if entry["status"] == "issued"]
                return found[0] if found else None

            entry = await wait_for(f"the invoice of {period}", issued)
            data = json.loads(
                (await bills.get(f"/v1/invoices/{entry['number']}")).content, parse_float=Decimal
            )
            for field in COMPARED:
                assert data[field] == offline[period][field], (period, field)
