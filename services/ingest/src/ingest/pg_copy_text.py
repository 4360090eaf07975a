"""The rows of a batch as one buffer in PostgreSQL's text COPY format.

asyncpg's binary COPY encodes every value through a per-column codec, which cost the ingest process
more CPU per event than anything else it owns. Here a row is one f-string and the batch one join:
text columns as they are; ``event_time`` as the received text when PostgreSQL reads it as the same
instant (``UsageEvent.time_text``, which spares formatting the datetime), else as UTC ISO 8601;
``quantity`` as the Decimal's own text (never a float: PostgreSQL reads ``1E+3`` as 1000 with the
scale the binary codec gives it); ``payload`` as bytea hex.

Only the text columns can hold the four characters the format reserves (backslash, tab, newline,
carriage return). The finished text is counted once for them and, only if a value brought one, built
again with the text values escaped. ``tests/integration/ingest/test_ingest_copy_text`` holds the
stored values equal to what the binary COPY stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from ingest.events import UsageEvent

RAW_TABS = 9
"""Tabs in a raw_events row (ten columns); its bytea prefix adds two backslashes (one, escaped)."""
CLAIM_TABS = 2
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

ClaimRow = tuple[str, str, str]
"""(source, id, event_time as text): one row of event_ids."""


def utc_text(instant: datetime) -> str:
    """An instant as PostgreSQL reads it whatever its offset (PostgreSQL refuses offsets past 15:59)."""
    return instant.astimezone(UTC).isoformat()


def _time(event: UsageEvent) -> str:
    return event.time_text or utc_text(event.time)


def _clean(text: str, rows: int, tabs: int, backslashes: int) -> bool:
    """Whether the format characters in ``text`` are exactly the ones the rows' layout puts there."""
    return (
        text.count("\t") == rows * tabs
        and text.count("\n") == rows
        and text.count("\\") == rows * backslashes
        and "\r" not in text
    )


def _escaped(value: str) -> str:
    return value.translate(_ESCAPES)


def raw_events_copy(events: Sequence[UsageEvent]) -> bytes:
    """The events as raw_events rows (columns in UsageEvent order). The tuples are unpacked rather
    than read field by field: a third of the cost of formatting the rows."""
    text = "".join([
        f"{src}\t{eid}\t{stamp or utc_text(at)}\t{kind}\t{tenant}\t{site}\t{cat}\t{period}\t"
        f"{qty!s}\t\\\\x{body.hex()}\n"
        for src, eid, at, kind, tenant, site, cat, period, qty, body, stamp in events
    ])  # fmt: skip
    if not _clean(text, len(events), RAW_TABS, 2):
        text = "".join([_escaped_raw_row(e) for e in events])
    return text.encode()


def _escaped_raw_row(e: UsageEvent) -> str:
    texts = "\t".join(map(_escaped, (e.type, e.tenant, e.site, e.category, e.period)))
    return (
        f"{_escaped(e.source)}\t{_escaped(e.id)}\t{_time(e)}\t{texts}\t"
        f"{e.quantity!s}\t\\\\x{e.payload.hex()}\n"
    )


def claim_rows(events: Sequence[UsageEvent]) -> list[ClaimRow]:
    """The event_ids rows sorted by (source, id): the lock order every writer follows."""
    return sorted([(src, eid, stamp or utc_text(at)) for src, eid, at, *_, stamp in events])


def claims_copy(rows: Sequence[ClaimRow]) -> bytes:
    text = "".join([f"{source}\t{event_id}\t{time}\n" for source, event_id, time in rows])
    if not _clean(text, len(rows), CLAIM_TABS, 0):
        text = "".join([f"{_escaped(s)}\t{_escaped(i)}\t{time}\n" for s, i, time in rows])
    return text.encode()
