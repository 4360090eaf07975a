"""The text COPY of raw_events and event_ids stores exactly what asyncpg's binary COPY stores.

Awkward values go both ways into tables shaped like the real ones, and the stored rows are compared
column by column, numerics also as text (so a different scale would show), then once more through
the ledger itself into the partitioned table.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from itertools import cycle
from typing import Any

import pytest

from billing_runtime.db import create_engine
from ingest.checking import parse_time
from ingest.events import UsageEvent
from ingest.ledger_port import LedgerBatch
from ingest.pg_copy_text import claim_rows, claims_copy, raw_events_copy
from ingest.pg_ledger import CLAIM_COLUMNS, RAW_COLUMNS, PostgresLedger, driver_connection
from ingest.settings import IngestSettings

TEXTS = (
    "plain",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    "back\\slash",
    "\\N",
    "\\.",
    "ends with \\",
    "\\x41",
    "ünïcødé 日本語 🎉",
    "quotes \" and ' , ; |",
    "\x01\x1f controls",
    " spaces around ",
)
TIMES = (
    "2026-03-14T10:22:31.482Z",
    "2026-03-14T10:22:31.123456789Z",  # past microseconds: truncated, written from the instant
    "2026-03-14T10:22:31+15:59",
    "2026-03-14T10:22:31-15:59",
    "2026-03-14T10:22:31+20:00",  # beyond PostgreSQL's offsets: written as UTC
    "2026-03-14T10:22:31.5+05:30",
    "1970-01-01T00:00:00-03:30",
    "1000-01-01T00:00:00Z",
    "0005-06-01T12:00:00.000001Z",
    "9999-12-31T23:59:59.999999Z",
    "2199-12-31T23:59:59.999999+00:00",
)
QUANTITIES = (
    "1",
    "1E+3",
    "2.5E-3",
    "1.000000",
    "0.000001",
    "0.10",
    "123456.789012",
    "1000000000000",
    "1E+12",
    "7.0E+2",
)
LAST_INSTANT = "9999-12-31 23:59:59.999999+00"
EVENT_TIME_TEXT = len(RAW_COLUMNS) + 1
"""Index of event_time::text in the selected rows."""
PLAIN_PAYLOADS = (
    b'{"specversion":"1.0","id":"e-1","data":{"tenant_id":"acme","quantity":"1.5"}}',
    bytes(range(32, 92)) + bytes(range(93, 128)),  # every printable ASCII byte but the backslash
    b"\x01\x1f\x7f controls",
    b"x" * 5000,
)
"""Payloads sent as they are (bytea's escape input)."""
PAYLOADS = (
    b"",
    bytes(range(256)),
    b"\\\t\n\r",
    '{"a":"é\\u00e9"}'.encode(),
    b"\x00\xff" * 300,
    b'{"a":"back\\\\slash"}',
    b"\\x41",
    b'{"a":1}\n',
    *PLAIN_PAYLOADS,
)
"""Plain and hex payloads mixed in one batch."""


PLAIN_TEXTS = tuple(text for text in TEXTS if not {"\t", "\n", "\r", "\\"} & set(text))
"""Texts COPY takes as they are: with them and plain payloads, no row is built a second time."""


def awkward_events(
    tag: str, count: int = 40, text_set: tuple[str, ...] = TEXTS, payload_set: tuple[bytes, ...] = PAYLOADS
) -> list[UsageEvent]:
    texts, times, quantities = cycle(text_set), cycle(TIMES), cycle(QUANTITIES)
    payloads = cycle(payload_set)
    events = []
    for n in range(count):
        instant, time_text = parse_time(next(times))
        events.append(
            UsageEvent(
                f"urn:{next(texts)}",
                f"{tag}-{n}-{next(texts)}",
                instant,
                next(texts),
                f"{tag}-{next(texts)}",
                next(texts),
                next(texts),
                "2026-03",
                Decimal(next(quantities)),
                next(payloads),
                time_text,
            )
        )
    return events


def comparable(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in rows)


@pytest.mark.parametrize(
    ("text_set", "payload_set"), [(TEXTS, PAYLOADS), (PLAIN_TEXTS, PLAIN_PAYLOADS)], ids=["mixed", "plain"]
)
async def test_awkward_values_are_stored_as_the_binary_copy_stores_them(
    ingest_settings: IngestSettings, text_set: tuple[str, ...], payload_set: tuple[bytes, ...]
) -> None:
    events = awkward_events(uuid.uuid4().hex[:8], text_set=text_set, payload_set=payload_set)
    assert any(e.time_text == "" for e in events) and any(e.time_text for e in events)
    engine = create_engine(ingest_settings, "ingest")
    raw_select = ", ".join((*RAW_COLUMNS, "quantity::text", "event_time::text"))
    try:
        async with driver_connection(engine) as connection, connection.transaction():
            for table in ("raw_events", "event_ids"):
                for way in ("binary", "text"):
                    await connection.execute(
                        f"CREATE TEMP TABLE {way}_{table} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP"
                    )
            await connection.copy_records_to_table(
                "binary_raw_events", records=[e[:10] for e in events], columns=RAW_COLUMNS
            )
            await connection.copy_to_table(
                "text_raw_events", source=memoryview(raw_events_copy(events)), columns=RAW_COLUMNS
            )
            await connection.copy_records_to_table(
                "binary_event_ids", records=[(e.id, e.source) for e in events], columns=CLAIM_COLUMNS
            )
            await connection.copy_to_table(
                "text_event_ids", source=memoryview(claims_copy(claim_rows(events))), columns=CLAIM_COLUMNS
            )
            stored = {
                way: comparable(await connection.fetch(f"SELECT {raw_select} FROM {way}_raw_events"))
                for way in ("binary", "text")
            }
            claims = {
                way: comparable(await connection.fetch(f"SELECT * FROM {way}_event_ids"))
                for way in ("binary", "text")
            }
        assert len(stored["text"]) == len(events)
        text_rows, binary_rows = stored["text"], stored["binary"]
        # asyncpg's binary codec writes datetime.max as 'infinity'; the text COPY keeps the instant.
        last = [row for row in text_rows if row[EVENT_TIME_TEXT] == LAST_INSTANT]
        infinite = [row for row in binary_rows if row[EVENT_TIME_TEXT] == "infinity"]
        assert len(last) == len(infinite) > 0
        assert [row for row in text_rows if row not in last] == [
            row for row in binary_rows if row not in infinite
        ]
        assert claims["text"] == claims["binary"] == comparable([(e.source, e.id) for e in events])
        assert [row[:10] for row in stored["text"]] == comparable([e[:10] for e in events])
    finally:
        await engine.dispose()


async def test_the_ledger_keeps_awkward_values_exactly(ingest_settings: IngestSettings) -> None:
    tag = uuid.uuid4().hex[:8]
    events = awkward_events(tag)
    engine = create_engine(ingest_settings, "ingest")
    topic = f"aggregated-{tag}"  # its notifications are removed at the end, not left to the relay tests
    ledger = PostgresLedger(engine, topic)
    try:
        first = await ledger.record(LedgerBatch(events[:25]))
        again = await ledger.record(LedgerBatch(events))  # 25 taken pairs: the exact claim
        assert len(first.fresh) == 25 and len(again.fresh) == len(events) - 25
        async with driver_connection(engine) as connection:
            rows = await connection.fetch(
                f"SELECT {', '.join(RAW_COLUMNS)} FROM raw_events WHERE id LIKE $1", f"{tag}-%"
            )
            claimed = await connection.fetch(
                "SELECT source, id FROM event_ids WHERE id LIKE $1", f"{tag}-%"
            )
        assert comparable(rows) == comparable([e[:10] for e in events])
        assert comparable(claimed) == comparable([e[:2] for e in events])
    finally:
        async with driver_connection(engine) as connection:
            await connection.execute("DELETE FROM outbox WHERE topic = $1", topic)
        await engine.dispose()
