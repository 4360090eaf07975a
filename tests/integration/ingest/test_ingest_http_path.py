"""The HTTP path: per-event answers, and the same aggregates as the Kafka path for the same events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from ingest_it_support import as_table, expected_usage, running_ingest, unique_tenant

from billing_runtime.migrations import upgrade
from ingest.settings import IngestSettings
from ingest.traffic import binary_message, produce, structured_message, usage_cloudevent

SERVICE_DIR = Path(__file__).resolve().parents[3] / "services" / "ingest"
BATCH = {"content-type": "application/cloudevents-batch+json"}
SINGLE = {"content-type": "application/cloudevents+json"}


def spread_events(tenant: str, count: int) -> list[dict[str, Any]]:
    """Events over two periods, three sites, three categories, quantities given as strings and numbers."""
    events = []
    for n in range(count):
        event = usage_cloudevent(
            f"{tenant}-{n}",
            tenant=tenant,
            site=f"site-{n % 3}",
            category=("standard", "expedited", "review")[n % 3 - (n // 3) % 2],
            quantity=f"{n % 5 + 1}.{n % 1000:03d}",
            time=("2026-03-31T23:59:59.999+00:00", "2026-04-01T00:00:00Z", "2026-03-15T12:00:00-05:00")[
                n % 3
            ],
        )
        events.append(event)
    return events


async def test_http_and_kafka_paths_give_identical_aggregates(
    ingest_settings: IngestSettings, settings_factory: Any, schema_prefix: str, producer: Any
) -> None:
    tenant = unique_tenant()
    events = spread_events(tenant, 300)
    http_settings: IngestSettings = settings_factory(
        IngestSettings, schema_prefix=f"{schema_prefix}h_", ingest_consume=False
    )
    await asyncio.to_thread(upgrade, SERVICE_DIR, http_settings)
    messages = [structured_message(e) if n % 2 else binary_message(e) for n, e in enumerate(events)]
    await produce(producer, ingest_settings.topic_name("usage.events.v1"), messages)

    async with running_ingest(http_settings) as over_http:
        for start in range(0, len(events), 100):
            body = json.dumps(events[start : start + 100]).encode()
            response = await over_http.client.post("/v1/events", content=body, headers=BATCH)
            assert response.status_code == 200, response.text
            assert response.json()["accepted"] == 100
        again = await over_http.client.post(
            "/v1/events", content=json.dumps(events[:50]).encode(), headers=BATCH
        )
        assert again.json()["duplicate"] == 50
        http_usage = {p: await over_http.usage(tenant, p) for p in ("2026-03", "2026-04")}

    async with running_ingest(ingest_settings) as over_kafka:
        march = sum(1 for e in events if e["time"].startswith("2026-03"))
        await over_kafka.wait_for_events(tenant, "2026-03", march)
        await over_kafka.wait_for_events(tenant, "2026-04", len(events) - march)
        kafka_usage = {p: await over_kafka.usage(tenant, p) for p in ("2026-03", "2026-04")}

    assert http_usage == kafka_usage
    march_events = [e for e in events if e["time"].startswith("2026-03")]
    assert as_table(kafka_usage["2026-03"]) == expected_usage(march_events)


async def test_http_answers_per_event_with_status_codes(
    ingest_settings: IngestSettings, settings_factory: Any
) -> None:
    tenant = unique_tenant()
    settings: IngestSettings = settings_factory(IngestSettings, ingest_consume=False)
    good = usage_cloudevent(f"{tenant}-1", tenant=tenant, site="s1", quantity="2.5")
    async with running_ingest(settings) as ingest:
        first = await ingest.client.post("/v1/events", content=json.dumps(good).encode(), headers=SINGLE)
        assert first.status_code == 200
        assert first.json()["results"] == [
            {"index": 0, "status": "accepted", "source": good["source"], "id": good["id"]}
        ]
        repeat = await ingest.client.post("/v1/events", content=json.dumps(good).encode(), headers=SINGLE)
        assert repeat.json()["results"][0]["status"] == "duplicate"

        bad = usage_cloudevent(f"{tenant}-2", tenant=tenant, site="s1", quantity="abc")
        other = usage_cloudevent(f"{tenant}-3", tenant=tenant, site="s1")
        mixed = await ingest.client.post(
            "/v1/events", content=json.dumps([bad, other]).encode(), headers=BATCH
        )
        assert mixed.status_code == 207
        assert [r["status"] for r in mixed.json()["results"]] == ["rejected", "accepted"]
        assert mixed.json()["results"][0]["reason"] == "invalid_quantity"

        refused = await ingest.client.post("/v1/events", content=json.dumps(bad).encode(), headers=SINGLE)
        assert refused.status_code == 400
        not_json = await ingest.client.post("/v1/events", content=b"{oops", headers=SINGLE)
        assert (not_json.status_code, not_json.json()["error"]) == (400, "not_json")
        wrong_type = await ingest.client.post(
            "/v1/events", content=b"a,b", headers={"content-type": "text/csv"}
        )
        assert wrong_type.status_code == 415

        usage = await ingest.usage(tenant, "2026-03")
        assert usage == {
            "tenant": tenant,
            "period": "2026-03",
            "sites": [{"site": "s1", "category": "standard", "quantity": "3.5", "events": 2}],
        }
        bad_period = await ingest.client.get("/v1/usage", params={"tenant": tenant, "period": "2026-3"})
        assert bad_period.status_code == 422
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await ingest.client.get(path)).status_code == 200
        metrics = (await ingest.client.get("/metrics")).text
        assert 'ingest_events_rejected_total{path="http",reason="invalid_quantity"} 2.0' in metrics
