"""The rows of a batch as one buffer in PostgreSQL's text COPY format.

asyncpg's binary COPY encodes every value through a per-column codec, which cost the ingest process
more CPU per event than anything else it owns. Here a row is one f-string and the batch one join:
text columns as they are; ``event_time`` as the received text when PostgreSQL reads it as the same
instant (``UsageEvent.time_text``, which spares formatting the datetime), else as UTC ISO 8601;
``quantity`` as the Decimal's own text (never a float: PostgreSQL reads ``1E+3`` as 1000 with the
scale the binary codec gives it); ``payload`` as itself when it is ASCII without a character either
format reserves (a usage event's JSON nearly always is: bytea's escape input then takes every byte
as it is), else as bytea hex. The hex form doubled the bytes sent and cost PostgreSQL more to read
than the row's other columns.

Only the text columns can hold the four characters the text format reserves (backslash, tab,
newline, carriage return): the times are checked or formatted ISO texts, the period a "YYYY-MM", the
quantity a Decimal's digits and the payload either plain or hex. So only those values are looked
at, joined into one probe text (once per batch, for both tables), and only if one of them brought
such a character are the rows built with the text values escaped.
``tests/integration/ingest/test_ingest_copy_text_stored`` holds the stored values equal to what the
binary COPY stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter

from ingest.events import UsageEvent

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_PAYLOAD_RESERVED = (b"\x00", b"\\", b"\t", b"\n", b"\r")

ClaimRow = tuple[str, str]
"""(id, source): one row of event_ids, its primary key."""


def utc_text(instant: datetime) -> str:
    """An instant as PostgreSQL reads it whatever its offset (PostgreSQL refuses offsets past 15:59)."""
    return instant.astimezone(UTC).isoformat()


def _time(event: UsageEvent) -> str:
    return event.time_text or utc_text(event.time)


_RAW_TEXTS = itemgetter(0, 1, 3, 4, 5, 6)
"""source, id, type, tenant, site, category: the raw_events values that may need escaping (a
superset of the event_ids values that may: source and id)."""
_CLAIM_TEXTS = itemgetter(0, 1)


def _no_reserved(probe: str) -> bool:
    return "\t" not in probe and "\n" not in probe and "\\" not in probe and "\r" not in probe


def texts_plain(events: Sequence[UsageEvent]) -> bool:
    """Whether none of the events' text values holds a character the text format reserves; the
    verdict holds for the claim rows of the same events too, so a batch asks once. One probe text
    of the values alone is a fifth of the rows' length (the payloads are most of a row)."""
    return _no_reserved("".join(chain.from_iterable(map(_RAW_TEXTS, events))))


def _escaped(value: str) -> str:
    return value.translate(_ESCAPES)


def _plain_payload(payload: bytes) -> bool:
    """Whether the bytes can be sent as they are: ASCII (so valid in the server's encoding), no NUL
    (no text holds one), no backslash (bytea's escape), no tab, newline or carriage return (COPY's)."""
    return payload.isascii() and not any(reserved in payload for reserved in _PAYLOAD_RESERVED)


def _payload(payload: bytes) -> str:
    return payload.decode() if _plain_payload(payload) else f"\\\\x{payload.hex()}"


def raw_events_copy(events: Sequence[UsageEvent], plain_texts: bool | None = None) -> bytes:
    """The events as raw_events rows (columns in UsageEvent order); ``plain_texts`` is
    ``texts_plain(events)`` when the caller has it already (False is always safe: it only escapes).

    The tuples are unpacked rather than read field by field: a third of the cost of formatting the
    rows. The payloads are probed together; when all are plain, each row's text part is encoded and
    its payload bytes follow as they are (decoding them into the text to encode them again cost a
    fifth of the rows' time). Only when one of them is not plain is each looked at alone."""
    if not (texts_plain(events) if plain_texts is None else plain_texts):
        return "".join([_escaped_raw_row(e) for e in events]).encode()
    if _plain_payload(b"".join([event[9] for event in events])):
        return b"".join([
            f"{src}\t{eid}\t{stamp or utc_text(at)}\t{kind}\t{tenant}\t{site}\t{cat}\t{period}\t"
            f"{qty!s}\t".encode() + body + b"\n"
            for src, eid, at, kind, tenant, site, cat, period, qty, body, stamp in events
        ])  # fmt: skip
    return "".join([
        f"{src}\t{eid}\t{stamp or utc_text(at)}\t{kind}\t{tenant}\t{site}\t{cat}\t{period}\t"
        f"{qty!s}\t{_payload(body)}\n"
        for src, eid, at, kind, tenant, site, cat, period, qty, body, stamp in events
    ]).encode()  # fmt: skip


def _escaped_raw_row(e: UsageEvent) -> str:
    texts = "\t".join(map(_escaped, (e.type, e.tenant, e.site, e.category, e.period)))
    return (
        f"{_escaped(e.source)}\t{_escaped(e.id)}\t{_time(e)}\t{texts}\t"
        f"{e.quantity!s}\t{_payload(e.payload)}\n"
    )


def claim_rows(events: Sequence[UsageEvent]) -> list[ClaimRow]:
    """The event_ids rows sorted by (id, source), the order of its primary key: the lock order every
    writer follows, and inserts that meet the index in its own order."""
    return sorted([(event[1], event[0]) for event in events])


def claims_copy(rows: Sequence[ClaimRow], plain_texts: bool | None = None) -> bytes:
    """The claim rows as COPY text; ``plain_texts`` as for ``raw_events_copy``."""
    if plain_texts is None:
        plain_texts = _no_reserved("".join(chain.from_iterable(map(_CLAIM_TEXTS, rows))))
    if plain_texts:
        return "".join([f"{event_id}\t{source}\n" for event_id, source in rows]).encode()
    return "".join([f"{_escaped(i)}\t{_escaped(s)}\n" for i, s in rows]).encode()
