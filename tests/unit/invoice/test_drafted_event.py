"""invoice.drafted.v1 events match their published JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from invoice.drafted_event import drafted_event

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[3] / "schemas" / "events" / "invoice.drafted.v1.json").read_text(
        "utf-8"
    )
)
INVOICE = {
    "number": "TEST-2026-000007",
    "tenant": "acme",
    "period": "2026-03",
    "currency": "USD",
    "total": "560.00",
    "sites": [
        {"site": "nyc-01", "total": "500.00", "lines": []},
        {"site": "bos-02", "total": "60.00", "lines": []},
    ],
    "verification": {"checksum": "sha256:" + "a" * 64},
}


def test_event_validates_and_carries_site_totals() -> None:
    event = drafted_event(INVOICE, datetime(2026, 4, 1, tzinfo=UTC))
    jsonschema.validate(event, SCHEMA)
    assert event["subject"] == "acme/2026-03"
    assert event["data"]["sites"] == [
        {"site": "nyc-01", "total": "500.00"},
        {"site": "bos-02", "total": "60.00"},
    ]


def test_schema_rejects_a_float_total() -> None:
    event = drafted_event(INVOICE, datetime(2026, 4, 1, tzinfo=UTC))
    event["data"]["total"] = 560.0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(event, SCHEMA)
