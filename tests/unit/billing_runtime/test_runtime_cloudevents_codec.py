"""The CloudEvents Kafka codec without a broker: both modes, decimals, and refusals with reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing_runtime.cloudevents_codec import (
    CloudEventDecodeError,
    ContentMode,
    KafkaMessage,
    content_mode,
    decode_message,
    encode_event,
    make_event,
)

WHEN = datetime(2026, 3, 14, 10, 22, 31, 482000, tzinfo=UTC)


def _event() -> object:
    return make_event(
        type="ai.platform.unit.processed.v1",
        source="urn:platform:us:pipeline-7",
        id="7f6c2a1e",
        time=WHEN,
        subject="nyc-01",
        data={"tenant_id": "acme", "site_id": "nyc-01", "quantity": Decimal("0.10")},
    )


@pytest.mark.parametrize("mode", list(ContentMode))
def test_round_trip_keeps_attributes_and_exact_data(mode: ContentMode) -> None:
    event = _event()
    message = encode_event(event, mode=mode, key="acme/nyc-01")  # type: ignore[arg-type]
    assert message.key == "acme/nyc-01"
    assert content_mode(message.headers) is mode
    decoded = decode_message(message)
    assert decoded.get_attributes() == event.get_attributes()  # type: ignore[attr-defined]
    assert "partitionkey" not in decoded.get_attributes()
    data = decoded.get_data()
    assert isinstance(data, dict)
    assert data["quantity"] == "0.10"  # written as a string: exact, trailing zero kept


def test_structured_message_shape() -> None:
    message = encode_event(_event(), mode=ContentMode.STRUCTURED, key=None)  # type: ignore[arg-type]
    assert message.headers == {"content-type": b"application/cloudevents+json"}
    assert b'"time":"2026-03-14T10:22:31.482000Z"' in message.value
    assert b'"quantity":"0.10"' in message.value


def test_binary_message_shape() -> None:
    message = encode_event(_event(), mode=ContentMode.BINARY, key=None)  # type: ignore[arg-type]
    assert message.headers["ce_id"] == b"7f6c2a1e"
    assert message.headers["ce_source"] == b"urn:platform:us:pipeline-7"
    assert message.headers["ce_type"] == b"ai.platform.unit.processed.v1"
    assert message.headers["ce_specversion"] == b"1.0"
    assert message.headers["ce_subject"] == b"nyc-01"
    assert message.headers["content-type"] == b"application/json"
    assert message.value == b'{"tenant_id":"acme","site_id":"nyc-01","quantity":"0.10"}'


def test_json_numbers_become_decimal_never_float() -> None:
    value = (
        b'{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-03-14T10:22:31Z",'
        b'"data":{"quantity":0.1,"count":3,"big":1e-30}}'
    )
    message = KafkaMessage({"content-type": b"application/cloudevents+json"}, None, value)
    data = decode_message(message).get_data()
    assert isinstance(data, dict)
    assert data["quantity"] == Decimal("0.1") and isinstance(data["quantity"], Decimal)
    assert data["big"] == Decimal("1e-30")
    assert data["count"] == 3


def test_binary_data_numbers_become_decimal() -> None:
    headers = {
        "ce_specversion": b"1.0",
        "ce_id": b"1",
        "ce_source": b"s",
        "ce_type": b"t",
        "content-type": b"application/json",
    }
    data = decode_message(KafkaMessage(headers, b"k", b'{"quantity": 2.50}')).get_data()
    assert isinstance(data, dict)
    assert data["quantity"] == Decimal("2.50") and str(data["quantity"]) == "2.50"


STRUCTURED = {"content-type": b"application/cloudevents+json"}
BINARY_BASE = {"ce_specversion": b"1.0", "ce_id": b"1", "ce_source": b"s", "ce_type": b"t"}


@pytest.mark.parametrize(
    ("headers", "value", "reason"),
    [
        (STRUCTURED, b"not json", "not_json"),
        (STRUCTURED, b"\xff\xfe", "not_utf8"),
        (STRUCTURED, b"[1, 2]", "not_an_object"),
        (STRUCTURED, b'{"specversion":"1.0","id":"1","type":"t"}', "invalid_attributes"),
        (STRUCTURED, b'{"specversion":"1.0","id":"1","source":"s","type":"t","time":"noon"}', "invalid_time"),
        (STRUCTURED, b'{"specversion":"1.0","id":"1","source":"s","type":"t","time":"2026-03-14T10:00"}',
         "invalid_time"),
        ({"content-type": b"text/plain"}, b"hello", "unsupported_content_type"),
        ({**BINARY_BASE, "content-type": b"application/json"}, b"{oops", "not_json"),
        ({**BINARY_BASE, "ce_time": b"2026-13-40"}, b"{}", "invalid_time"),
        ({"ce_id": b"1", "ce_specversion": b"1.0"}, b"{}", "invalid_attributes"),
    ],
)
def test_unusable_messages_are_refused_with_a_reason(
    headers: dict[str, bytes], value: bytes, reason: str
) -> None:
    with pytest.raises(CloudEventDecodeError) as caught:
        decode_message(KafkaMessage(headers, None, value))
    assert caught.value.reason == reason
    assert str(caught.value).startswith(reason)


def test_make_event_fills_id_and_time() -> None:
    event = make_event(type="t", source="s", data=None)
    assert event.get_id()
    time = event.get_time()
    assert time is not None and time.tzinfo is not None
