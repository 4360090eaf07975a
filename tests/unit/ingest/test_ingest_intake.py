from __future__ import annotations

import json
from decimal import Decimal

import pytest
from ingest_fakes import DROP, MemoryLedger, Record, binary, structured, usage_event
from prometheus_client import CollectorRegistry

from ingest import exact_json
from ingest.checking import EventChecker
from ingest.classification import Classifier
from ingest.intake import Intake
from ingest.ledger_port import PartitionPosition
from ingest.metrics import IngestMetrics
from ingest.periods import TenantPeriods
from ingest.rejections import Reason

DLQ = "usage.events.dlq.v1"


def make_intake(ledger: MemoryLedger, registry: CollectorRegistry | None = None) -> Intake:
    return Intake(
        EventChecker(Classifier(), TenantPeriods()),
        ledger,
        IngestMetrics(registry or CollectorRegistry()),
        dlq_topic=DLQ,
        max_event_bytes=64 * 1024,
    )


def totals(ledger: MemoryLedger) -> dict[tuple[str, str, str, str], tuple[Decimal, int]]:
    return {key: (tally.quantity, tally.events) for key, tally in ledger.aggregates.items()}


async def test_duplicates_across_batches_and_inside_one_are_counted_once() -> None:
    ledger = MemoryLedger()
    intake = make_intake(ledger)
    first = [structured(usage_event(n, quantity="1.5"), offset=n) for n in range(10)]
    again = [binary(usage_event(n, quantity="1.5"), offset=10 + i) for i, n in enumerate((0, 1, 1))]
    report_one = await intake.from_kafka(first, "g")
    report_two = await intake.from_kafka(again, "g")
    assert (report_one.accepted, report_one.duplicates) == (10, 0)
    assert (report_two.accepted, report_two.duplicates) == (0, 3)
    assert totals(ledger) == {("acme", "nyc-01", "standard", "2026-03"): (Decimal("15.0"), 10)}
    assert ledger.offsets == {("g", "usage.events.v1", 0): 13}


async def test_bad_records_go_to_the_dlq_with_original_bytes_and_reason_while_neighbours_count() -> None:
    ledger = MemoryLedger()
    no_id = usage_event(2, id=DROP)
    records = [
        structured(usage_event(1), offset=0),
        Record("usage.events.v1", 3, 1, b"k", b"not json", (("trace", b"t-1"),)),
        structured(no_id, offset=2),
        structured(usage_event(3, quantity="-2"), offset=3),
        structured(usage_event(4), offset=4),
    ]
    report = await make_intake(ledger).from_kafka(records, "g")
    assert report.accepted == 2
    assert report.rejected == {Reason.NOT_JSON: 1, Reason.MISSING_ATTRIBUTE: 1, Reason.INVALID_QUANTITY: 1}
    dead = [message for message in ledger.outbox if message.topic == DLQ]
    assert [message.value for message in dead] == [b"not json", records[2].value, records[3].value]
    first = dict(dead[0].headers)
    assert first["trace"] == b"t-1"
    assert first["dlq_reason"] == b"not_json"
    assert (first["dlq_source_topic"], first["dlq_source_partition"], first["dlq_source_offset"]) == (
        b"usage.events.v1",
        b"3",
        b"1",
    )
    assert report.positions == [
        PartitionPosition("usage.events.v1", 0, 5),
        PartitionPosition("usage.events.v1", 3, 2),
    ]


async def test_a_failed_ledger_write_records_nothing_and_the_retry_counts_everything_once() -> None:
    ledger = MemoryLedger(fail_next=True)
    intake = make_intake(ledger)
    batch = [structured(usage_event(n), offset=n) for n in range(5)]
    with pytest.raises(ConnectionError):
        await intake.from_kafka(batch, "g")
    assert ledger.aggregates == {} and ledger.offsets == {}
    await intake.from_kafka(batch, "g")
    assert totals(ledger) == {("acme", "nyc-01", "standard", "2026-03"): (Decimal(5), 5)}


async def test_each_touched_tenant_period_gets_one_notification_with_running_totals() -> None:
    ledger = MemoryLedger()
    events = [
        usage_event(1, quantity="2"),
        usage_event(2, quantity="3", category="expedited"),
        usage_event(3, time="2026-04-01T00:00:00Z"),
        usage_event(4, tenant="globex"),
    ]
    await make_intake(ledger).from_kafka([structured(e, offset=i) for i, e in enumerate(events)], "g")
    notes = [json.loads(m.value or b"") for m in ledger.outbox if m.topic == "usage.aggregated.v1"]
    assert [(n["data"]["tenant"], n["data"]["period"]) for n in notes] == [
        ("acme", "2026-03"),
        ("acme", "2026-04"),
        ("globex", "2026-03"),
    ]
    assert notes[0]["data"]["lines"] == [
        {"site": "nyc-01", "category": "expedited", "quantity": "3", "events": 1},
        {"site": "nyc-01", "category": "standard", "quantity": "2", "events": 1},
    ]


async def test_http_answers_per_event_and_matches_the_kafka_path() -> None:
    events = [usage_event(n, quantity=f"{n}.25") for n in range(1, 6)]
    batch = [*events, events[0], usage_event(9, quantity="abc"), "not an object"]
    over_http = MemoryLedger()
    results = await make_intake(over_http).from_http(
        json.dumps(batch).encode(), "application/cloudevents-batch+json"
    )
    statuses = [(r.index, r.status, r.reason) for r in results]
    assert statuses == [
        (0, "accepted", None),
        (1, "accepted", None),
        (2, "accepted", None),
        (3, "accepted", None),
        (4, "accepted", None),
        (5, "duplicate", None),
        (6, "rejected", "invalid_quantity"),
        (7, "rejected", "not_an_object"),
    ]
    again = await make_intake(over_http).from_http(
        json.dumps(events[1]).encode(), "application/cloudevents+json"
    )
    assert [r.status for r in again] == ["duplicate"]
    over_kafka = MemoryLedger()
    await make_intake(over_kafka).from_kafka([binary(e, offset=i) for i, e in enumerate(events)], "g")
    assert totals(over_http) == totals(over_kafka)
    assert over_http.raw[0].payload == exact_json.dump_bytes(events[0])


async def test_metrics_count_what_happened() -> None:
    registry = CollectorRegistry()
    intake = make_intake(MemoryLedger(), registry)
    await intake.from_kafka(
        [structured(usage_event(1)), structured(usage_event(1)), Record("t", 0, 2, None, b"x")], "g"
    )
    value = registry.get_sample_value
    assert value("ingest_events_consumed_total", {"path": "kafka"}) == 3
    assert value("ingest_events_accepted_total", {"path": "kafka"}) == 1
    assert value("ingest_events_duplicate_total", {"path": "kafka"}) == 1
    assert value("ingest_events_rejected_total", {"path": "kafka", "reason": "not_json"}) == 1
