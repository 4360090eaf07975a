"""Ingest's migrations keep the data they reshape, up and down.

Revision 0006 drops ``event_ids.event_time``: the claims already stored stay claims, and a
downgrade gives every claim its time back from the raw event it claimed.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command

from billing_runtime.db import create_engine, drop_schema
from billing_runtime.migrations import alembic_config, upgrade
from ingest.pg_ledger import driver_connection
from ingest.settings import IngestSettings

SERVICE_DIR = Path(__file__).resolve().parents[3] / "services" / "ingest"
BEFORE_0006 = "0005_event_ids_key_order"

_COLUMNS = """
SELECT column_name, is_nullable FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = 'event_ids' ORDER BY column_name
"""
_OLD_CLAIM = "INSERT INTO event_ids (source, id, event_time) VALUES ('urn:a', $1, $2::text::timestamptz)"
_RAW_EVENT = """
INSERT INTO raw_events (source, id, event_time, type, tenant_id, site_id, category, period, quantity, payload)
VALUES ('urn:a', $1, $2::text::timestamptz, 't', 'acme', 's1', 'standard', '2026-03', 1, '\\x7b7d')
"""


async def test_dropping_and_restoring_the_claim_time_keeps_every_claim(
    settings_factory: Callable[..., Any], schema_prefix: str
) -> None:
    settings: IngestSettings = settings_factory(
        IngestSettings, schema_prefix=f"{schema_prefix}mig{secrets.token_hex(2)}_"
    )
    await asyncio.to_thread(upgrade, SERVICE_DIR, settings, BEFORE_0006)
    engine = create_engine(settings, "ingest")
    try:
        async with driver_connection(engine) as connection:
            await connection.execute(
                "CREATE TABLE raw_events_2026_03 PARTITION OF raw_events "
                "FOR VALUES FROM ('2026-03-01T00:00:00Z') TO ('2026-04-01T00:00:00Z')"
            )
            for n in range(3):
                event_id, time = f"e{n}", f"2026-03-1{n}T10:00:00Z"
                await connection.execute(_OLD_CLAIM, event_id, time)
                await connection.execute(_RAW_EVENT, event_id, time)

        await asyncio.to_thread(upgrade, SERVICE_DIR, settings)
        async with driver_connection(engine) as connection:
            columns = [tuple(row) for row in await connection.fetch(_COLUMNS)]
            assert columns == [("id", "NO"), ("source", "NO")]
            claims = await connection.fetch("SELECT source, id FROM event_ids ORDER BY id")
            assert [tuple(row) for row in claims] == [("urn:a", "e0"), ("urn:a", "e1"), ("urn:a", "e2")]

        await asyncio.to_thread(command.downgrade, alembic_config(SERVICE_DIR, settings), BEFORE_0006)
        async with driver_connection(engine) as connection:
            assert ("event_time", "NO") in [tuple(row) for row in await connection.fetch(_COLUMNS)]
            restored = await connection.fetch(
                "SELECT id, to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') "
                "FROM event_ids ORDER BY id"
            )
            assert [tuple(row) for row in restored] == [
                ("e0", "2026-03-10 10:00"),
                ("e1", "2026-03-11 10:00"),
                ("e2", "2026-03-12 10:00"),
            ]
    finally:
        await drop_schema(engine, settings.schema_name("ingest"))
        await engine.dispose()
