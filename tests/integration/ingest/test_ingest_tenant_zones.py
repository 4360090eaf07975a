"""Periods in each tenant's contract time zone, on the real broker and database.

Contracts reach ingest as billing.config.changed.v1 records built by rating's own publisher
(``rating.config_events.config_changed``); usage goes through Kafka or HTTP as in production.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from ingest_it_support import RunningIngest, running_ingest, unique_tenant
from sqlalchemy import text

from billing_core.periods import period_of
from billing_runtime.cloudevents_codec import make_event
from billing_runtime.db import create_engine
from billing_runtime.kafka import create_producer, send_event
from ingest.events import UsageEvent
from ingest.ledger_port import LedgerBatch
from ingest.periods import TenantPeriods
from ingest.pg_ledger import PostgresLedger, driver_connection
from ingest.settings import IngestSettings
from ingest.tenant_zone_gate import TenantZoneGate
from ingest.traffic import produce, structured_message, usage_cloudevent
from ingest.zone_changes import Outcome, ZoneChange, ZoneChanges
from rating.config_events import config_changed
from rating.records import ConfigRevision, TenantSettings

CONFIG_TOPIC = "billing.config.changed.v1"
BOUNDARY_TIMES = (
    "2026-02-28T23:30:00Z",  # London (GMT) Feb, Kolkata Mar 1 05:00
    "2026-03-01T00:10:00Z",  # March everywhere east of UTC, Feb in New York
    "2026-03-31T19:00:00Z",  # London Mar 31 20:00, Kolkata Apr 1 00:30
    "2026-03-31T23:30:00Z",  # London (BST) Apr 1 00:30, UTC Mar 31
    "2026-04-01T02:00:00Z",  # New York Mar 31 22:00
    "2026-04-15T12:00:00Z",
    "2026-04-30T18:45:00Z",  # Kolkata May 1 00:15
)


@pytest_asyncio.fixture
async def config_producer(ingest_settings: IngestSettings) -> AsyncIterator[Any]:
    kafka = create_producer(ingest_settings, client_id="zone-tests")
    await kafka.start()
    yield kafka
    await kafka.stop()


async def announce_contract(
    producer: Any, settings: IngestSettings, tenant: str, zone: str | None, revision: int
) -> None:
    """What rating publishes when it records revision ``revision`` of the tenant's contract."""
    contract = None if zone is None else {"tenant": tenant, "currency": "USD", "timezone": zone}
    message = config_changed(
        ConfigRevision(
            tenant_id=tenant,
            revision=revision,
            kind="contract_loaded" if revision == 1 else "contract_replaced",
            actor="tests",
            reason="zone test",
            recorded_at=datetime.now(UTC),
            contract=contract,
            settings=TenantSettings(),
        )
    )
    event = message.event
    cloud_event = make_event(
        type=event["type"], source=event["source"], data=event["data"], id=event["id"], subject=tenant
    )
    await send_event(producer, settings.topic_name(CONFIG_TOPIC), cloud_event, key=tenant)


def usage_events(tenant: str, times: tuple[str, ...], prefix: str = "e") -> list[dict[str, Any]]:
    return [
        usage_cloudevent(
            f"{tenant}-{prefix}{n}",
            tenant=tenant,
            site=f"s{n % 2}",
            quantity=str(Decimal(n + 1) / 4),
            time=when,
        )
        for n, when in enumerate(times)
    ]


def expected_by_period(events: list[dict[str, Any]], zone: str) -> dict[str, Counter[str]]:
    """Events per period and site, computed with billing_core as `billing run` does."""
    result: dict[str, Counter[str]] = {}
    for event in events:
        period = str(period_of(datetime.fromisoformat(event["time"]), zone))
        result.setdefault(period, Counter())[event["data"]["site_id"]] += 1
    return result


async def stored_by_period(settings: IngestSettings, tenant: str) -> dict[str, Counter[str]]:
    engine = create_engine(settings, "ingest", pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT period, site_id, events FROM usage_aggregates WHERE tenant_id = :t"),
                {"t": tenant},
            )
            result: dict[str, Counter[str]] = {}
            for period, site, events in rows:
                result.setdefault(period, Counter())[site] += events
            return result
    finally:
        await engine.dispose()


async def stored_zone(settings: IngestSettings, tenant: str) -> tuple[str, int] | None:
    engine = create_engine(settings, "ingest", pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT timezone, revision FROM tenant_zones WHERE tenant_id = :t"), {"t": tenant}
                )
            ).first()
            return None if row is None else (row[0], row[1])
    finally:
        await engine.dispose()


async def wait_until(what: str, probe: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def wait_for_buckets(
    settings: IngestSettings, tenant: str, expected: dict[str, Counter[str]]
) -> dict[str, Counter[str]]:
    last: dict[str, Counter[str]] = {}

    async def matches() -> bool:
        nonlocal last
        last = await stored_by_period(settings, tenant)
        return last == expected

    try:
        await wait_until(f"{tenant}'s aggregates to be {expected}", matches)
    except AssertionError:
        raise AssertionError(f"{tenant}: aggregates {last}, expected {expected}") from None
    return last


async def test_a_new_york_tenant_counts_early_april_utc_in_march(
    ingest_settings: IngestSettings, producer: Any, config_producer: Any
) -> None:
    tenant = unique_tenant()
    events = usage_events(tenant, ("2026-04-01T02:00:00Z", "2026-04-01T03:59:59Z", "2026-04-01T04:00:00Z"))
    async with running_ingest(ingest_settings) as ingest:
        await announce_contract(config_producer, ingest_settings, tenant, "America/New_York", 1)
        await wait_until("the contract's zone", lambda: _zone_is(ingest_settings, tenant, "America/New_York"))
        await produce(producer, ingest_settings.topic_name("usage.events.v1"),
                      [structured_message(e) for e in events])  # fmt: skip
        march = await ingest.wait_for_events(tenant, "2026-03", 2)
        april = await ingest.wait_for_events(tenant, "2026-04", 1)
    assert sum(line["events"] for line in march["sites"]) == 2
    assert sum(line["events"] for line in april["sites"]) == 1
    assert await stored_by_period(ingest_settings, tenant) == expected_by_period(events, "America/New_York")


async def test_events_ingested_before_the_contract_are_rebucketed_when_it_arrives(
    ingest_settings: IngestSettings, config_producer: Any
) -> None:
    tenant = unique_tenant()
    events = usage_events(tenant, BOUNDARY_TIMES)
    async with running_ingest(ingest_settings) as ingest:
        await _post(ingest, events)
        assert await stored_by_period(ingest_settings, tenant) == expected_by_period(events, "UTC")
        assert await stored_zone(ingest_settings, tenant) == ("UTC", 0)
        await announce_contract(config_producer, ingest_settings, tenant, "America/New_York", 1)
        await wait_for_buckets(ingest_settings, tenant, expected_by_period(events, "America/New_York"))
        # Later usage of the tenant lands in New York months too, on both paths.
        later = usage_events(tenant, ("2026-05-01T03:00:00Z", "2026-06-01T05:00:00Z"), prefix="late")
        await _post(ingest, later)
    assert await stored_zone(ingest_settings, tenant) == ("America/New_York", 1)
    assert await stored_by_period(ingest_settings, tenant) == expected_by_period(
        events + later, "America/New_York"
    )


async def test_a_zone_change_from_london_to_kolkata_moves_events_across_month_boundaries(
    ingest_settings: IngestSettings, config_producer: Any
) -> None:
    tenant = unique_tenant()
    events = usage_events(tenant, BOUNDARY_TIMES)
    london = expected_by_period(events, "Europe/London")
    kolkata = expected_by_period(events, "Asia/Kolkata")
    assert london != kolkata and london != expected_by_period(events, "UTC")
    async with running_ingest(ingest_settings) as ingest:
        await announce_contract(config_producer, ingest_settings, tenant, "Europe/London", 1)
        await wait_until("the London zone", lambda: _zone_is(ingest_settings, tenant, "Europe/London"))
        await _post(ingest, events)
        assert await stored_by_period(ingest_settings, tenant) == london
        await announce_contract(config_producer, ingest_settings, tenant, "Asia/Kolkata", 2)
        await wait_for_buckets(ingest_settings, tenant, kolkata)
        # An old revision delivered again changes nothing.
        await announce_contract(config_producer, ingest_settings, tenant, "Europe/London", 1)
        await announce_contract(config_producer, ingest_settings, tenant, "Asia/Kolkata", 3)
        await wait_until("revision 3", lambda: _zone_is(ingest_settings, tenant, "Asia/Kolkata", 3))
    assert await stored_by_period(ingest_settings, tenant) == kolkata


async def test_a_change_rebuilds_in_one_transaction_and_repeats_change_nothing(
    ingest_settings: IngestSettings,
) -> None:
    """Straight on ZoneChanges: quantities, announced periods, positions and idempotence."""
    tenant = unique_tenant()
    engine = create_engine(ingest_settings, "ingest")
    periods = TenantPeriods()
    topic = f"aggregated-{tenant}"
    ledger = PostgresLedger(engine, topic, TenantZoneGate(periods))
    changes = ZoneChanges(engine, periods, topic)
    checked = [_usage(tenant, n, when, periods) for n, when in enumerate(BOUNDARY_TIMES)]
    try:
        await ledger.record(LedgerBatch(checked))
        before = await _aggregate_rows(engine, tenant)
        applied = await changes.apply(ZoneChange(tenant, "Asia/Kolkata", 1))
        assert applied.outcome is Outcome.REBUILT
        after = await _aggregate_rows(engine, tenant)
        assert applied.periods == sorted({row[0] for row in before} | {row[0] for row in after})
        assert sum(row[3] for row in after) == sum(row[3] for row in before) == len(BOUNDARY_TIMES)
        assert sum(row[2] for row in after) == sum(row[2] for row in before)
        assert {row[0] for row in after} == {"2026-03", "2026-04", "2026-05"}
        assert await _raw_periods(engine, tenant) == {
            f"{tenant}-{n}": str(period_of(datetime.fromisoformat(when), "Asia/Kolkata"))
            for n, when in enumerate(BOUNDARY_TIMES)
        }, "the raw events' periods are corrected with the aggregates"
        notifications = [n for n in await _announced(engine, topic) if n.get("rebuilt")]
        assert [n["period"] for n in notifications] == applied.periods
        emptied = [n for n in notifications if n["period"] == "2026-02"]
        assert emptied == [{"tenant": tenant, "period": "2026-02", "rebuilt": True, "lines": []}]

        same = await changes.apply(ZoneChange(tenant, "Asia/Kolkata", 2))
        stale = await changes.apply(ZoneChange(tenant, "UTC", 2))
        assert (same.outcome, stale.outcome) == (Outcome.UNCHANGED, Outcome.STALE)
        assert await _aggregate_rows(engine, tenant) == after
        assert [n for n in await _announced(engine, topic) if n.get("rebuilt")] == notifications
    finally:
        await _forget_outbox(engine, topic)
        await engine.dispose()


async def test_raw_events_allow_a_period_correction_and_nothing_else(ingest_settings: IngestSettings) -> None:
    tenant = unique_tenant()
    engine = create_engine(ingest_settings, "ingest")
    ledger = PostgresLedger(engine, f"aggregated-{tenant}")
    try:
        await ledger.record(LedgerBatch([_usage(tenant, 0, "2026-03-10T12:00:00Z", TenantPeriods())]))
        async with driver_connection(engine) as connection:
            for change in ("period = '2026-02', quantity = 7", "site_id = 'x'", "payload = 'x'::bytea"):
                with pytest.raises(asyncpg.RaiseError, match="append-only"):
                    await connection.execute(f"UPDATE raw_events SET {change} WHERE tenant_id = $1", tenant)
            await connection.execute("UPDATE raw_events SET period = '2026-02' WHERE tenant_id = $1", tenant)
        assert await _raw_periods(engine, tenant) == {f"{tenant}-0": "2026-02"}
    finally:
        await _forget_outbox(engine, f"aggregated-{tenant}")
        await engine.dispose()


async def test_a_batch_checked_before_a_zone_change_lands_in_the_new_zone(
    ingest_settings: IngestSettings,
) -> None:
    """The batch waits for the zone row the change holds, then assigns periods in the new zone."""
    tenant = unique_tenant()
    engine = create_engine(ingest_settings, "ingest")
    periods = TenantPeriods()
    ledger = PostgresLedger(engine, f"aggregated-{tenant}", TenantZoneGate(periods))
    try:
        await ledger.record(LedgerBatch([_usage(tenant, 0, "2026-03-10T12:00:00Z", periods)]))
        checked_in_utc = [_usage(tenant, 1, "2026-04-01T02:00:00Z", periods)]
        assert checked_in_utc[0].period == "2026-04"
        async with driver_connection(engine) as connection, connection.transaction():
            await connection.execute("SELECT 1 FROM tenant_zones WHERE tenant_id = $1 FOR UPDATE", tenant)
            writing = asyncio.create_task(ledger.record(LedgerBatch(checked_in_utc)))
            await asyncio.sleep(0.5)
            assert not writing.done()
            await connection.execute(
                "UPDATE tenant_zones SET timezone = 'America/New_York', revision = 1 WHERE tenant_id = $1",
                tenant,
            )
        outcome = await writing
        assert [event.period for event in outcome.fresh] == ["2026-03"]
        rows = await _aggregate_rows(engine, tenant)
        assert [(period, site, events) for period, site, _, events in rows] == [
            ("2026-03", "s0", 1),
            ("2026-03", "s1", 1),
        ]
        # Events checked later in this process use the adopted zone from the start.
        assert _usage(tenant, 2, "2026-04-01T03:00:00Z", periods).period == "2026-03"
    finally:
        await _forget_outbox(engine, f"aggregated-{tenant}")
        await engine.dispose()


def _usage(tenant: str, n: int, when: str, periods: TenantPeriods) -> UsageEvent:
    instant = datetime.fromisoformat(when)
    return UsageEvent(
        "urn:test", f"{tenant}-{n}", instant, "t.v1", tenant, f"s{n % 2}", "standard",
        periods(tenant, instant), Decimal(n + 1) / 4, b"{}",
    )  # fmt: skip


async def _aggregate_rows(engine: Any, tenant: str) -> list[tuple[str, str, Decimal, int]]:
    async with driver_connection(engine) as connection:
        rows = await connection.fetch(
            "SELECT period, site_id, quantity, events FROM usage_aggregates WHERE tenant_id = $1 "
            "ORDER BY period, site_id",
            tenant,
        )
    return [tuple(row) for row in rows]  # type: ignore[misc]


async def _raw_periods(engine: Any, tenant: str) -> dict[str, str]:
    async with driver_connection(engine) as connection:
        rows = await connection.fetch("SELECT id, period FROM raw_events WHERE tenant_id = $1", tenant)
    return {row["id"]: row["period"] for row in rows}


async def _announced(engine: Any, topic: str) -> list[dict[str, Any]]:
    async with driver_connection(engine) as connection:
        rows = await connection.fetch("SELECT value FROM outbox WHERE topic = $1 ORDER BY id", topic)
    return [json.loads(row["value"])["data"] for row in rows]


async def _forget_outbox(engine: Any, topic: str) -> None:
    """These tests' notifications name no real topic: keep the relays of later tests off them."""
    async with driver_connection(engine) as connection:
        await connection.execute("DELETE FROM outbox WHERE topic = $1", topic)


async def _zone_is(settings: IngestSettings, tenant: str, zone: str, revision: int = 1) -> bool:
    return await stored_zone(settings, tenant) == (zone, revision)


async def _post(ingest: RunningIngest, events: list[dict[str, Any]]) -> None:
    response = await ingest.client.post(
        "/v1/events",
        content=json.dumps(events),
        headers={"content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code < 300, response.text
    assert {result["status"] for result in response.json()["results"]} == {"accepted"}
