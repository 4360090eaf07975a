"""Kafka records of the common shape, decoded by msgspec straight into typed attributes.

Almost every record is a well-formed event of one of two shapes (structured mode with the usual
content type, binary mode with the usual ``ce_`` headers). For those, msgspec parses the JSON and
checks the attribute types in one compiled pass, numbers becoming exact ``Decimal`` from their text,
and ``EventChecker.complete`` does the rest. Anything that does not fit exactly — an unusual header,
another content type, a missing or mistyped attribute, JSON msgspec reads differently — gives
``None``, and the caller takes the explaining path (``cloudevents_decoding`` then
``EventChecker.check``), which decides with its precise reason. So this path only ever accepts what
the explaining path accepts, with the same values (``tests/unit/ingest/test_ingest_typed_decoding``
holds it to that).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from ingest.checking import EventChecker
from ingest.events import UsageEvent
from ingest.rejections import InvalidEvent

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]

JSON = b"application/json"
STRUCTURED_CONTENT_TYPES = frozenset({b"application/cloudevents+json", JSON})
BINARY_ATTRIBUTES = frozenset({"ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time"})
BINARY_HEADERS = BINARY_ATTRIBUTES | {"content-type"}
"""The headers of a binary-mode record this path reads; a record with any other goes the long way."""
STRUCTURED_HEADERS = frozenset(("content-type", kind) for kind in STRUCTURED_CONTENT_TYPES)
"""The one header a structured record of the usual shape carries, if any."""


class _StructuredEvent(msgspec.Struct):
    specversion: Literal["1.0"]
    id: NonEmpty
    source: NonEmpty
    type: NonEmpty
    time: str
    data: dict[str, Any]
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str = ""
    dataschema: str = ""


class TypedDecoder:
    """Turns a Kafka record of the common shape into a UsageEvent, or says None (take the long way)."""

    def __init__(self, checker: EventChecker, max_bytes: int) -> None:
        self._complete = checker.complete
        self._max_bytes = max_bytes
        self._structured = msgspec.json.Decoder(_StructuredEvent, float_hook=Decimal)
        self._data = msgspec.json.Decoder(dict[str, Any], float_hook=Decimal)

    def decode(self, value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> UsageEvent | None:
        if value is None or len(value) > self._max_bytes:
            return None
        try:
            if not headers or (len(headers) == 1 and headers[0] in STRUCTURED_HEADERS):
                event = self._structured.decode(value)
                return self._complete(event.source, event.id, event.type, event.time, event.data, value)
            named = dict(headers)
            if len(named) != len(headers) or "ce_specversion" not in named:
                return None  # a repeated header (the long way checks every copy) or other headers
            return self._binary(value, named)
        except (msgspec.DecodeError, UnicodeDecodeError, InvalidEvent):
            return None

    def _binary(self, value: bytes, named: dict[str, bytes]) -> UsageEvent | None:
        if not BINARY_ATTRIBUTES <= named.keys() <= BINARY_HEADERS or None in named.values():
            return None
        if named["ce_specversion"] != b"1.0" or named.get("content-type", JSON) != JSON:
            return None
        source, event_id = named["ce_source"].decode(), named["ce_id"].decode()
        event_type = named["ce_type"].decode()
        if not (source and event_id and event_type):
            return None
        data = self._data.decode(value)
        return self._complete(source, event_id, event_type, named["ce_time"].decode(), data, value)
