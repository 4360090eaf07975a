"""CloudEvents on Kafka: both content modes, on the SDK's Kafka binding, with exact decimals.

* Structured mode: the whole event is the JSON value, header ``content-type:
  application/cloudevents+json``.
* Binary mode: attributes in ``ce_*`` headers, ``datacontenttype`` in ``content-type``, the data alone
  as the value.

JSON is always parsed with ``parse_float=Decimal`` so quantities and amounts never pass through a
binary float; integers stay ``int``. ``Decimal`` values are written as JSON strings, which every
reader can take without loss. Anything that cannot be decoded raises :class:`CloudEventDecodeError`
with a machine-readable ``reason`` suitable for a dead-letter record.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from cloudevents.core.base import BaseCloudEvent, EventFactory
from cloudevents.core.bindings import kafka as binding
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from dateutil.parser import isoparse

__all__ = [
    "CloudEvent",
    "CloudEventDecodeError",
    "ContentMode",
    "DecimalJSONFormat",
    "KafkaMessage",
    "decode_message",
    "decode_record",
    "encode_event",
    "make_event",
    "message_from_record",
    "record_headers",
]

KafkaMessage = binding.KafkaMessage
STRUCTURED_CONTENT_TYPE = JSONFormat.CONTENT_TYPE
JSON_CONTENT_TYPE = "application/json"
EventData = dict[str, Any] | str | bytes | None


class ContentMode(StrEnum):
    STRUCTURED = "structured"
    BINARY = "binary"


class CloudEventDecodeError(ValueError):
    """A Kafka message that is not a usable CloudEvent; ``reason`` is a stable code for dead letters."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _loads(text: str | bytes) -> Any:
    # Decode explicitly: json.loads would guess UTF-16/32 from a byte-order mark.
    return json.loads(text.decode("utf-8") if isinstance(text, bytes) else text, parse_float=Decimal)


def _to_json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return _format_time(value)
    if isinstance(value, Mapping):
        return {str(k): _to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_json_value(v) for v in value]
    return value


def _dumps(value: Any) -> bytes:
    return json.dumps(_to_json_value(value), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _format_time(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _is_json(content_type: str | None) -> bool:
    return bool(JSONFormat.JSON_CONTENT_TYPE_PATTERN.match(content_type or JSON_CONTENT_TYPE))


class DecimalJSONFormat(JSONFormat):
    """The SDK's JSON event format, with Decimal-exact parsing and strict JSON data."""

    def read(self, event_factory: EventFactory | None, data: str | bytes) -> BaseCloudEvent:
        try:
            envelope = _loads(data)
        except UnicodeDecodeError as exc:
            raise CloudEventDecodeError("not_utf8", str(exc)) from None
        except ValueError as exc:
            raise CloudEventDecodeError("not_json", str(exc)) from None
        if not isinstance(envelope, dict):
            kind = type(envelope).__name__
            raise CloudEventDecodeError("not_an_object", f"expected a JSON object, got {kind}")
        payload: EventData = envelope.pop("data", None)
        encoded = envelope.pop("data_base64", None)
        if payload is None and isinstance(encoded, str):
            payload = base64.b64decode(encoded)
        if "time" in envelope:
            envelope["time"] = _parse_time(envelope["time"])
        factory = event_factory or CloudEvent
        return factory(envelope, payload)

    def write(self, event: BaseCloudEvent) -> bytes:
        envelope: dict[str, Any] = dict(event.get_attributes())
        payload = event.get_data()
        if isinstance(payload, bytes | bytearray):
            envelope["data_base64"] = base64.b64encode(payload).decode("ascii")
        elif payload is not None:
            envelope["data"] = payload if _is_json(event.get_datacontenttype()) else str(payload)
        return _dumps(envelope)

    def write_data(self, data: EventData, datacontenttype: str | None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, bytes | bytearray):
            return bytes(data)
        if isinstance(data, str) and not _is_json(datacontenttype):
            return data.encode("utf-8")
        return _dumps(data)

    def read_data(self, body: bytes, datacontenttype: str | None) -> EventData:
        if not body:
            return None
        if not _is_json(datacontenttype):
            return body
        try:
            parsed: EventData = _loads(body)
        except UnicodeDecodeError as exc:
            raise CloudEventDecodeError("not_utf8", f"data: {exc}") from None
        except ValueError as exc:
            raise CloudEventDecodeError("not_json", f"data: {exc}") from None
        return parsed


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        parsed: datetime = isoparse(str(value))
    except ValueError as exc:
        raise CloudEventDecodeError("invalid_time", f"time {value!r}: {exc}") from None
    if parsed.tzinfo is None:
        raise CloudEventDecodeError("invalid_time", f"time {value!r} has no UTC offset")
    return parsed


_FORMAT = DecimalJSONFormat()


def make_event(
    *,
    type: str,
    source: str,
    data: EventData,
    id: str | None = None,
    time: datetime | None = None,
    subject: str | None = None,
    extensions: Mapping[str, str] | None = None,
) -> CloudEvent:
    """A CloudEvents 1.0 event with JSON data; ``id`` defaults to a UUID and ``time`` to now (UTC)."""
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": id or str(uuid.uuid4()),
        "source": source,
        "type": type,
        "time": time or datetime.now(UTC),
        "datacontenttype": JSON_CONTENT_TYPE,
    }
    if subject is not None:
        attributes["subject"] = subject
    attributes.update(extensions or {})
    return CloudEvent(attributes, data)


def encode_event(event: BaseCloudEvent, *, mode: ContentMode, key: str | bytes | None) -> KafkaMessage:
    """The Kafka message for ``event`` in ``mode``, keyed by ``key`` (the topic's partition key)."""

    def key_mapper(_: BaseCloudEvent) -> str | bytes | None:
        return key

    if mode is ContentMode.BINARY:
        return binding.to_binary(event, _FORMAT, key_mapper)
    return binding.to_structured(event, _FORMAT, key_mapper)


def content_mode(headers: Mapping[str, bytes]) -> ContentMode:
    """Binary when any ``ce_`` header is present, structured otherwise (as the Kafka binding says)."""
    if any(name.lower().startswith(binding.CE_PREFIX) for name in headers):
        return ContentMode.BINARY
    return ContentMode.STRUCTURED


def decode_message(message: KafkaMessage) -> CloudEvent:
    """The CloudEvent in ``message`` (either mode). The Kafka key is not copied into the event."""
    keyless = KafkaMessage(headers=dict(message.headers), key=None, value=message.value)
    mode = content_mode(keyless.headers)
    if mode is ContentMode.STRUCTURED:
        declared = keyless.headers.get("content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if declared and declared != STRUCTURED_CONTENT_TYPE:
            raise CloudEventDecodeError(
                "unsupported_content_type", f"content-type {declared!r} without ce_ headers"
            )
    try:
        if mode is ContentMode.BINARY:
            _check_binary_time(keyless.headers)
            event = binding.from_binary(keyless, _FORMAT, CloudEvent)
        else:
            event = binding.from_structured(keyless, _FORMAT, CloudEvent)
    except CloudEventDecodeError:
        raise
    except BaseCloudEventException as exc:
        raise CloudEventDecodeError("invalid_attributes", str(exc)) from None
    except UnicodeDecodeError as exc:
        raise CloudEventDecodeError("not_utf8", f"headers: {exc}") from None
    if event.get_specversion() != "1.0":
        raise CloudEventDecodeError("unsupported_specversion", f"specversion {event.get_specversion()!r}")
    return event  # type: ignore[return-value]


def _check_binary_time(headers: Mapping[str, bytes]) -> None:
    for name, value in headers.items():
        if name.lower() == "ce_time":
            _parse_time(value.decode("utf-8"))


def record_headers(message: KafkaMessage) -> list[tuple[str, bytes]]:
    """Headers in the shape aiokafka's ``send`` takes."""
    return list(message.headers.items())


def message_from_record(record: Any) -> KafkaMessage:
    """A binding message from an aiokafka ``ConsumerRecord`` (headers are a sequence of pairs)."""
    headers: Sequence[tuple[str, bytes]] = record.headers or ()
    return KafkaMessage(headers=dict(headers), key=record.key, value=record.value or b"")


def decode_record(record: Any) -> CloudEvent:
    """Shortcut: decode the CloudEvent carried by an aiokafka ``ConsumerRecord``."""
    return decode_message(message_from_record(record))
