"""Turn CloudEvents as they arrive (Kafka structured or binary mode, HTTP single or batch) into one shape.

The shape is the structured-mode JSON object, so one checker serves every path and the HTTP and
Kafka paths cannot drift apart. Numbers are parsed as Decimal, never float.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ingest.rejections import InvalidEvent, Reason

STRUCTURED = "structured"
BINARY = "binary"
CE_JSON = "application/cloudevents+json"
CE_BATCH_JSON = "application/cloudevents-batch+json"
_CE_PREFIX = "ce_"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    envelope: dict[str, Any]
    payload: bytes
    mode: str


def parse_json(raw: bytes | str, what: str) -> Any:
    """Parse JSON with exact decimals; anything unreadable is reported as not_json."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
        return _decoder.decode(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidEvent(Reason.NOT_JSON, f"{what} is not JSON: {exc}") from None


def _media_type(content_type: str | None) -> str:
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def _header_text(name: str, raw: bytes | None) -> str:
    if raw is None:
        return ""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEvent(Reason.INVALID_ATTRIBUTE, f"header {name} is not UTF-8") from None


def decode_kafka_record(
    value: bytes | None, headers: Sequence[tuple[str, bytes]], max_bytes: int
) -> DecodedEvent:
    """Decode one Kafka record in either CloudEvents content mode.

    Binary mode is recognised by a ce_specversion header; everything else is read as structured
    mode (producers do not always set content-type).
    """
    if value is None:
        raise InvalidEvent(Reason.NOT_JSON, "record value is empty (tombstone)")
    if len(value) > max_bytes:
        raise InvalidEvent(Reason.TOO_LARGE, f"record value is {len(value)} bytes, the limit is {max_bytes}")
    content_type = ""
    attributes: dict[str, Any] | None = None
    for name, raw in headers:
        if name == "content-type":
            content_type = _header_text(name, raw)
            continue
        lowered = name if name.islower() else name.lower()
        if lowered.startswith(_CE_PREFIX):
            if attributes is None:
                attributes = {}
            attributes[lowered[3:]] = _header_text(name, raw)
        elif lowered == "content-type":
            content_type = _header_text(name, raw)
    if attributes is not None and "specversion" in attributes:
        return _decode_binary(value, attributes, content_type)
    media_type = _media_type(content_type)
    if media_type == CE_BATCH_JSON:
        raise InvalidEvent(
            Reason.UNSUPPORTED_CONTENT_TYPE, "batch mode is not accepted on Kafka: one event per record"
        )
    if media_type not in ("", CE_JSON, "application/json"):
        raise InvalidEvent(
            Reason.UNSUPPORTED_CONTENT_TYPE, f"content-type {content_type!r} is not a CloudEvent"
        )
    try:
        envelope = _decoder.decode(value.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        envelope = parse_json(value, "record value")  # raises, with the explanation
    if not isinstance(envelope, dict):
        raise InvalidEvent(Reason.NOT_AN_OBJECT, "record value is not a JSON object")
    return DecodedEvent(envelope, value, STRUCTURED)


def _decode_binary(value: bytes, attributes: dict[str, Any], content_type: str) -> DecodedEvent:
    media_type = _media_type(content_type)
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise InvalidEvent(
            Reason.UNSUPPORTED_CONTENT_TYPE, f"binary-mode data of content-type {content_type!r} is not JSON"
        )
    attributes["data"] = parse_json(value, "record value (binary-mode data)")
    if content_type:
        attributes["datacontenttype"] = content_type
    return DecodedEvent(attributes, value, BINARY)


def decode_http_body(body: bytes, content_type: str | None) -> tuple[list[Any], bool]:
    """Split an HTTP body into its events and say whether it was a batch; elements are checked later."""
    media_type = _media_type(content_type)
    if media_type not in (CE_JSON, CE_BATCH_JSON, "application/json"):
        raise InvalidEvent(
            Reason.UNSUPPORTED_CONTENT_TYPE,
            f"content-type {content_type!r}: send {CE_JSON} (one event) or {CE_BATCH_JSON} (a JSON array)",
        )
    document = parse_json(body, "request body")
    if media_type == CE_BATCH_JSON:
        if not isinstance(document, list):
            raise InvalidEvent(Reason.NOT_AN_OBJECT, f"a {CE_BATCH_JSON} body must be a JSON array")
        return document, True
    if media_type == CE_JSON or not isinstance(document, list):
        return [document], False
    return document, True
