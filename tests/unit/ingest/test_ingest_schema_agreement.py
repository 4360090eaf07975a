"""The hand-written checks must never accept what the published JSON Schema refuses."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_fakes import usage_event

from ingest.checking import EventChecker
from ingest.classification import Classifier
from ingest.periods import TenantPeriods
from ingest.rejections import InvalidEvent

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "events"


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / "usage-event.v1.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def accepted(event: dict[str, Any]) -> bool:
    try:
        EventChecker(Classifier(), TenantPeriods()).check(event, b"")
    except InvalidEvent:
        return False
    return True


texts = st.one_of(
    st.sampled_from(
        [
            "",
            "1",
            "-1",
            "abc",
            "1.5",
            "1e3",
            "0",
            "2026-03-14T10:22:31Z",
            "2026-03-14T10:22:31",
            " 1",
            "1.0000001",
            "1\n",
            "NaN",
            "application/json",
            "text/plain",
            "1.0",
        ]
    ),
    st.text(max_size=8),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    texts,
    st.decimals(allow_nan=False, allow_infinity=False, places=7, min_value=-10, max_value=10),
    st.lists(st.integers(), max_size=1),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
)
ATTRIBUTES = ["specversion", "id", "source", "type", "time", "datacontenttype", "subject", "data"]
FIELDS = ["tenant_id", "site_id", "category", "quantity"]


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    event = usage_event(quantity=draw(st.sampled_from(["1", "0.5", 2, Decimal("1.25")])))
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            name = draw(st.sampled_from(ATTRIBUTES))
            if draw(st.booleans()):
                event.pop(name, None)
            else:
                event[name] = draw(values)
        elif isinstance(event.get("data"), dict):
            name = draw(st.sampled_from(FIELDS))
            if draw(st.booleans()):
                event["data"].pop(name, None)
            else:
                event["data"][name] = draw(values)
    return event


@settings(max_examples=300, deadline=None)
@given(mutated_events())
def test_every_event_the_checks_accept_is_valid_under_the_schema(event: dict[str, Any]) -> None:
    if accepted(event):
        errors = [error.message for error in validator().iter_errors(event)]
        assert errors == [], event


def test_the_example_event_of_the_formats_page_passes_both() -> None:
    example = usage_event()
    assert accepted(example)
    assert validator().is_valid(example)


def test_events_the_schema_refuses_are_refused_by_the_checks() -> None:
    refused = [
        usage_event(quantity="-1"),
        usage_event(quantity="abc"),
        usage_event(time="2026-03-14T10:22:31"),
        {key: value for key, value in usage_event().items() if key != "id"},
        usage_event(tenant=""),
    ]
    for event in refused:
        assert not validator().is_valid(event)
        assert not accepted(event)
