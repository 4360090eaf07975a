"""The typed path accepts only what the explaining path accepts, with the same values."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_fakes import DROP, Record, binary, structured, usage_event
from test_ingest_schema_agreement import mutated_events

from ingest.checking import EventChecker
from ingest.classification import Classifier
from ingest.cloudevents_decoding import decode_kafka_record
from ingest.events import UsageEvent
from ingest.periods import TenantPeriods
from ingest.rejections import InvalidEvent, Reason
from ingest.typed_decoding import TypedDecoder

LIMIT = 4096


def checker() -> EventChecker:
    return EventChecker(Classifier(), TenantPeriods({"acme": "America/New_York"}))


def explained(record: Record) -> UsageEvent | InvalidEvent:
    try:
        decoded = decode_kafka_record(record.value, record.headers, LIMIT)
        return checker().check(decoded.envelope, decoded.payload)
    except InvalidEvent as error:
        return error


def typed(record: Record) -> UsageEvent | None:
    return TypedDecoder(checker(), LIMIT).decode(record.value, record.headers)


def with_numbers(event: dict[str, Any]) -> bytes:
    """The event as JSON in which Decimal values are written as JSON numbers (json.dumps cannot)."""
    numbers: dict[str, str] = {}

    def number(value: object) -> str:
        if not isinstance(value, Decimal):
            raise TypeError(type(value).__name__)
        numbers[f'"#{len(numbers)}"'] = str(value)
        return f"#{len(numbers) - 1}"

    text = json.dumps(event, default=number)
    for placeholder, literal in numbers.items():
        text = text.replace(placeholder, literal)
    return text.encode()


COMMON = [
    usage_event(),
    usage_event(quantity="2.000001", tenant="other"),
    usage_event(quantity=7, time="2026-03-01T02:00:00.1234567+01:00"),
    usage_event(quantity=None, datacontenttype=DROP),
]
WITH_EXTENSIONS = [usage_event(subject="job-1", dataschema="urn:x", priority="high")]
"""Extension attributes: binary mode carries them as headers the typed path leaves to the long way."""


@pytest.mark.parametrize(
    "record",
    [structured(event) for event in COMMON + WITH_EXTENSIONS] + [binary(event) for event in COMMON],
)
def test_common_records_take_the_typed_path_and_match_the_explaining_path(record: Record) -> None:
    result = typed(record)
    assert result is not None
    assert result == explained(record)


def test_numbers_in_structured_mode_are_exact() -> None:
    record = replace(structured(usage_event()), value=with_numbers(usage_event(quantity=Decimal("0.10"))))
    result = typed(record)
    assert result is not None and str(result.quantity) == "0.10"
    assert result == explained(record)


def test_a_repeated_member_counts_with_its_last_value_on_both_paths() -> None:
    value = json.dumps(usage_event()).replace('"id": "evt-1"', '"id": "first", "id": "last"').encode()
    record = replace(structured(usage_event()), value=value)
    result = typed(record)
    assert result is not None and result.id == "last"
    assert result == explained(record)


@pytest.mark.parametrize(
    "record",
    [
        replace(
            binary(usage_event()), headers=(("CE_specversion", b"1.0"), *binary(usage_event()).headers[1:])
        ),
        replace(binary(usage_event()), headers=(*binary(usage_event()).headers, ("ce_traceparent", b"00-1"))),
        replace(structured(usage_event()), headers=(("content-type", b"application/json; charset=utf-8"),)),
        structured(usage_event(datacontenttype="application/cloudevents+json")),
    ],
)
def test_records_outside_the_common_shape_take_the_explaining_path(record: Record) -> None:
    assert typed(record) is None
    assert isinstance(explained(record), UsageEvent)  # accepted all the same, the long way


def test_an_id_with_a_lone_surrogate_takes_the_explaining_path_and_is_refused() -> None:
    """JSON may spell a lone surrogate; PostgreSQL cannot store it, so it is refused, not retried."""
    record = structured(usage_event(id="\ud800"))
    assert typed(record) is None
    refused = explained(record)
    assert isinstance(refused, InvalidEvent) and refused.reason == Reason.INVALID_ATTRIBUTE
    assert "surrogate" in refused.detail


def test_a_repeated_header_takes_the_explaining_path_which_checks_every_copy() -> None:
    record = structured(usage_event())
    record = replace(record, headers=(("content-type", b"\xff"), *record.headers))
    assert typed(record) is None
    assert isinstance(explained(record), InvalidEvent)


HEADERS = [
    "ce_specversion",
    "ce_id",
    "ce_time",
    "content-type",
    "Content-Type",
    "ce_extra",
    "ce_datacontenttype",
]
HEADER_VALUES = [b"", b"1.0", b"application/json", b"\xff", b"x", b"2026-03-14T10:22:31Z"]


@st.composite
def records(draw: st.DrawFn) -> Record:
    """The schema test's mutated events, in either content mode, with mutated headers."""
    event = draw(mutated_events())
    if draw(st.booleans()) and isinstance(event.get("data"), dict):
        record = replace(binary({**event, "data": {}}), value=with_numbers(event["data"]))
    else:
        record = replace(structured(usage_event()), value=with_numbers(event))
    headers = list(record.headers)
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()) and headers:
            headers.pop(draw(st.integers(0, len(headers) - 1)))
        else:
            headers.append((draw(st.sampled_from(HEADERS)), draw(st.sampled_from(HEADER_VALUES))))
    return replace(record, headers=tuple(headers))


@settings(max_examples=500, deadline=None)
@given(records())
def test_whatever_the_typed_path_accepts_the_explaining_path_accepts_identically(record: Record) -> None:
    result = typed(record)
    if result is not None:
        assert result == explained(record)
