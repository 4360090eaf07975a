"""The JSON Lines event reader: exact quantities, and every bad event named by line and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from billing_core import Period, UsageKey, aggregate_events
from billing_io.events_jsonl import EventError, EventFileError, iter_events, parse_event, read_events


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "urn:platform:us:pipeline-7",
        "type": "ai.platform.unit.processed.v1",
        "time": "2026-03-14T10:22:31.482Z",
        "datacontenttype": "application/json",
        "data": {"tenant_id": "acme", "site_id": "nyc-01", "category": "standard", "quantity": "1"},
    }
    data = dict(base["data"])
    for key, value in changes.items():
        if key.startswith("data_"):
            field = key.removeprefix("data_")
            if value is ...:
                data.pop(field, None)
            else:
                data[field] = value
        elif value is ...:
            base.pop(key, None)
        else:
            base[key] = value
    if "data" not in changes:
        base["data"] = data
    return base


def write_lines(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_reads_fields_with_exact_decimal_quantity() -> None:
    parsed = parse_event(json.dumps(event(data_quantity="12.500001")), line=3)
    assert parsed.quantity == Decimal("12.500001")
    assert str(parsed.quantity) == "12.500001"
    assert (parsed.tenant, parsed.site, parsed.category) == ("acme", "nyc-01", "standard")
    assert parsed.time == datetime(2026, 3, 14, 10, 22, 31, 482000, tzinfo=UTC)
    assert (parsed.source, parsed.id) == ("urn:platform:us:pipeline-7", "e-1")


def test_number_quantity_is_parsed_without_float() -> None:
    # 0.1 as a JSON number would be 0.1000000000000000055… through float.
    parsed = parse_event(
        '{"specversion":"1.0","id":"a","source":"s","type":"t","time":"2026-01-01T00:00:00Z",'
        '"data":{"tenant_id":"acme","site_id":"x","category":"c","quantity":0.1}}'
    )
    assert parsed.quantity == Decimal("0.1")
    assert parse_event(json.dumps(event(data_quantity=7))).quantity == Decimal(7)


def test_json_number_0_1_summed_ten_thousand_times_is_exactly_1000(tmp_path: Path) -> None:
    # Through float, 10,000 × 0.1 adds up to 1000.0000000001588 (or is refused as too precise).
    line = (
        '{{"specversion":"1.0","id":"e-{}","source":"s","type":"t","time":"2026-03-14T10:00:00Z",'
        '"data":{{"tenant_id":"acme","site_id":"nyc-01","category":"standard","quantity":0.1}}}}'
    )
    path = write_lines(tmp_path, [line.format(number) for number in range(10_000)])
    events = read_events(path)
    assert len(events) == 10_000
    assert all(type(e.quantity) is Decimal and e.quantity == Decimal("0.1") for e in events)
    usage = aggregate_events(events, "UTC", tenant="acme")
    total = usage[Period(2026, 3)][UsageKey("nyc-01", "standard")]
    assert (total.quantity, total.events) == (Decimal("1000.0"), 10_000)
    assert type(total.quantity) is Decimal and str(total.quantity) == "1000.0"


def test_absent_quantity_means_one() -> None:
    assert parse_event(json.dumps(event(data_quantity=...))).quantity == Decimal(1)


def test_time_keeps_its_offset() -> None:
    parsed = parse_event(json.dumps(event(time="2026-03-31T23:30:00-05:00")))
    assert parsed.time.utcoffset() == timedelta(hours=-5)
    assert parsed.time.astimezone(UTC) == datetime(2026, 4, 1, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"specversion": "0.3"}, "specversion"),
        ({"specversion": ...}, "specversion"),
        ({"id": ...}, "id"),
        ({"id": ""}, "id"),
        ({"source": 7}, "source"),
        ({"type": "  "}, "type"),
        ({"time": ...}, "time"),
        ({"time": "yesterday"}, "time"),
        ({"time": "2026-03-14T10:22:31"}, "time"),
        ({"data": "text"}, "data"),
        ({"data": ...}, "data"),
        ({"data_tenant_id": ""}, "data.tenant_id"),
        ({"data_site_id": ...}, "data.site_id"),
        ({"data_category": None}, "data.category"),
        ({"data_quantity": "0"}, "data.quantity"),
        ({"data_quantity": "-2"}, "data.quantity"),
        ({"data_quantity": "1.0000001"}, "data.quantity"),
        ({"data_quantity": "1000000000000.5"}, "data.quantity"),
        ({"data_quantity": "lots"}, "data.quantity"),
        ({"data_quantity": "NaN"}, "data.quantity"),
        ({"data_quantity": "Infinity"}, "data.quantity"),
        ({"data_quantity": True}, "data.quantity"),
        ({"data_quantity": [1]}, "data.quantity"),
    ],
)
def test_each_bad_event_names_its_line_and_field(tmp_path: Path, changes: dict[str, Any], field: str) -> None:
    path = write_lines(tmp_path, [json.dumps(event(id="ok-1")), "", json.dumps(event(**changes))])
    with pytest.raises(EventError) as caught:
        list(iter_events(path))
    assert caught.value.line == 3
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{path}:3: {field}: ")


@pytest.mark.parametrize(
    ("line", "field"),
    [("{not json", "(json)"), ("[1, 2]", "(event)"), ('{"quantity": NaN}', "(json)")],
)
def test_unparseable_lines_are_named(tmp_path: Path, line: str, field: str) -> None:
    path = write_lines(tmp_path, [line])
    with pytest.raises(EventError) as caught:
        list(iter_events(path))
    assert (caught.value.line, caught.value.field) == (1, field)


def test_quantity_limits_are_inclusive() -> None:
    assert parse_event(json.dumps(event(data_quantity="1000000000000"))).quantity == Decimal(10) ** 12
    assert parse_event(json.dumps(event(data_quantity="0.000001"))).quantity == Decimal("0.000001")
    # Trailing zeros are not extra precision.
    assert parse_event(json.dumps(event(data_quantity="2.50000000"))).quantity == Decimal("2.5")


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    path = write_lines(tmp_path, ["", json.dumps(event(id="a")), "   ", json.dumps(event(id="b"))])
    assert [e.id for e in iter_events(path)] == ["a", "b"]
    bad = write_lines(tmp_path, ["", "", json.dumps(event(id=""))])
    with pytest.raises(EventError) as caught:
        list(iter_events(bad))
    assert caught.value.line == 3


def test_read_events_reports_every_bad_line(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        [json.dumps(event(id="a")), json.dumps(event(data_quantity="-1")), json.dumps(event(time="bad"))],
    )
    with pytest.raises(EventFileError) as caught:
        read_events(path)
    assert [(e.line, e.field) for e in caught.value.errors] == [(2, "data.quantity"), (3, "time")]


def test_non_utf8_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(json.dumps(event()).encode() + b"\n\xff\xfe\n")
    with pytest.raises(EventFileError) as caught:
        read_events(path)
    assert [(e.line, e.field) for e in caught.value.errors] == [(2, "(encoding)")]


def test_classifier_chooses_the_category() -> None:
    parsed = parse_event(
        json.dumps(event(type="ai.platform.unit.reviewed.v1")),
        classify=lambda event_type, data: event_type.split(".")[3],
    )
    assert parsed.category == "reviewed"
