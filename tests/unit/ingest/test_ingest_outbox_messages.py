from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import jsonschema

from ingest.aggregation import AggregateTotal
from ingest.outbox_messages import KafkaOrigin, aggregated_notifications, dead_letter
from ingest.rejections import InvalidEvent, Reason

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "events"


def schema(name: str) -> jsonschema.Draft202012Validator:
    document = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def test_notifications_follow_their_schema() -> None:
    totals = [AggregateTotal("acme", "nyc-01", "standard", "2026-03", Decimal("10.500000"), 7)]
    [message] = aggregated_notifications(totals, "usage.aggregated.v1", datetime(2026, 3, 1, tzinfo=UTC))
    event = json.loads(message.value or b"")
    schema("usage.aggregated.v1.json").validate(event)
    assert event["time"] == "2026-03-01T00:00:00Z"
    assert message.key == b"acme"


def test_dead_letter_headers_follow_their_schema_and_replace_stale_ones() -> None:
    error = InvalidEvent(Reason.INVALID_QUANTITY, "data.quantity 'abc' is not a positive decimal")
    message = dead_letter(
        "dlq", b"k", b"v", [("dlq_reason", b"old"), ("x", b"1")], error, KafkaOrigin("usage.events.v1", 2, 40)
    )
    headers = {name: raw.decode() for name, raw in message.headers}
    schema("dlq-headers.v1.json").validate(headers)
    assert headers["dlq_reason"] == "invalid_quantity"
    assert headers["x"] == "1"
    assert [name for name, _ in message.headers].count("dlq_reason") == 1
