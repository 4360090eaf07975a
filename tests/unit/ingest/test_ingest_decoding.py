from __future__ import annotations

import json
from decimal import Decimal

import pytest
from ingest_fakes import binary, structured, usage_event

from ingest.cloudevents_decoding import BINARY, STRUCTURED, decode_http_body, decode_kafka_record
from ingest.rejections import InvalidEvent, Reason

LIMIT = 64 * 1024


def test_structured_and_binary_records_decode_to_the_same_envelope() -> None:
    event = usage_event(quantity="1.5")
    as_structured = structured(event)
    as_binary = binary(event)
    one = decode_kafka_record(as_structured.value, as_structured.headers, LIMIT)
    two = decode_kafka_record(as_binary.value, as_binary.headers, LIMIT)
    assert (one.mode, two.mode) == (STRUCTURED, BINARY)
    assert two.envelope == one.envelope
    assert one.payload == as_structured.value


def test_numbers_are_parsed_as_decimals() -> None:
    decoded = decode_kafka_record(b'{"data": {"quantity": 0.1}}', (), LIMIT)
    assert decoded.envelope["data"]["quantity"] == Decimal("0.1")


@pytest.mark.parametrize(
    ("value", "headers", "reason"),
    [
        (b"not json {", (), Reason.NOT_JSON),
        (b"\xff\xfe", (), Reason.NOT_JSON),
        (b'{"quantity": NaN}', (), Reason.NOT_JSON),
        (None, (), Reason.NOT_JSON),
        (b"[1, 2]", (), Reason.NOT_AN_OBJECT),
        (b"{}", (("content-type", b"application/xml"),), Reason.UNSUPPORTED_CONTENT_TYPE),
        (b"[]", (("content-type", b"application/cloudevents-batch+json"),), Reason.UNSUPPORTED_CONTENT_TYPE),
        (b"oops", (("ce_specversion", b"1.0"),), Reason.NOT_JSON),
        (b"{}", (("ce_specversion", b"1.0"), ("content-type", b"text/csv")), Reason.UNSUPPORTED_CONTENT_TYPE),
        (b"{}", (("ce_specversion", b"1.0"), ("ce_id", b"\xff")), Reason.INVALID_ATTRIBUTE),
        (b" " * (LIMIT + 1), (), Reason.TOO_LARGE),
    ],
)
def test_unusable_records_are_refused_with_a_reason(
    value: bytes | None, headers: tuple[tuple[str, bytes], ...], reason: Reason
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        decode_kafka_record(value, headers, LIMIT)
    assert caught.value.reason == reason


def test_http_bodies_single_and_batch() -> None:
    event = usage_event()
    assert decode_http_body(json.dumps(event).encode(), "application/cloudevents+json") == ([event], False)
    batch = json.dumps([event, event]).encode()
    assert decode_http_body(batch, "application/cloudevents-batch+json; charset=utf-8") == (
        [event, event],
        True,
    )
    with pytest.raises(InvalidEvent) as caught:
        decode_http_body(b"{}", "application/cloudevents-batch+json")
    assert caught.value.reason == Reason.NOT_AN_OBJECT
    with pytest.raises(InvalidEvent) as caught:
        decode_http_body(b"{}", "text/plain")
    assert caught.value.reason == Reason.UNSUPPORTED_CONTENT_TYPE
