from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from ingest_fakes import DROP, usage_event

from ingest import exact_json
from ingest.checking import EventChecker, parse_quantity, parse_time
from ingest.classification import Classifier, build_classifier
from ingest.periods import TenantPeriods
from ingest.rejections import InvalidEvent, Reason


def checker(classifier: Classifier | None = None, zones: dict[str, str] | None = None) -> EventChecker:
    return EventChecker(classifier or Classifier(), TenantPeriods(zones))


def check(event: dict[str, Any], **kwargs: Any) -> Any:
    return checker(**kwargs).check(event, exact_json.dump_bytes(event))


def reason_of(event: dict[str, Any]) -> tuple[Reason, str]:
    with pytest.raises(InvalidEvent) as caught:
        check(event)
    return caught.value.reason, caught.value.detail


def test_a_valid_event_becomes_a_usage_event_with_exact_quantity_and_period() -> None:
    event = check(usage_event(7, quantity="2.500001"))
    assert event.key == ("urn:platform:us:pipeline-7", "evt-7")
    assert event.quantity == Decimal("2.500001")
    assert event.aggregate_key == ("acme", "nyc-01", "standard", "2026-03")
    assert event.time == datetime(2026, 3, 14, 10, 22, 31, 482000, tzinfo=UTC)


def test_absent_quantity_means_one_and_numbers_stay_decimal() -> None:
    assert check(usage_event(quantity=None)).quantity == Decimal(1)
    assert check(usage_event(quantity=Decimal("0.1"))).quantity == Decimal("0.1")
    assert check(usage_event(quantity=3)).quantity == Decimal(3)


def test_the_period_follows_the_tenant_time_zone() -> None:
    late_utc = usage_event(time="2026-03-31T23:30:00Z")
    assert check(late_utc).period == "2026-03"
    assert check(late_utc, zones={"acme": "Asia/Tokyo"}).period == "2026-04"
    assert check(usage_event(time="2026-04-01T00:30:00+02:00")).period == "2026-03"


@pytest.mark.parametrize(
    ("overrides", "reason", "named"),
    [
        ({"id": DROP}, Reason.MISSING_ATTRIBUTE, "id"),
        ({"source": DROP}, Reason.MISSING_ATTRIBUTE, "source"),
        ({"type": ""}, Reason.INVALID_ATTRIBUTE, "type"),
        ({"specversion": "0.3"}, Reason.INVALID_ATTRIBUTE, "specversion"),
        ({"specversion": DROP}, Reason.MISSING_ATTRIBUTE, "specversion"),
        ({"time": DROP}, Reason.MISSING_ATTRIBUTE, "time"),
        ({"time": "2026-03-14T10:22:31"}, Reason.INVALID_TIME, "time"),
        ({"time": "2026-03-14"}, Reason.INVALID_TIME, "time"),
        ({"time": "yesterday"}, Reason.INVALID_TIME, "time"),
        ({"time": "2026-02-30T10:00:00Z"}, Reason.INVALID_TIME, "time"),
        ({"time": 1700000000}, Reason.INVALID_TIME, "time"),
        ({"data": DROP}, Reason.MISSING_ATTRIBUTE, "data"),
        ({"data": "x"}, Reason.INVALID_DATA, "data"),
        ({"datacontenttype": "text/plain"}, Reason.INVALID_ATTRIBUTE, "datacontenttype"),
    ],
)
def test_bad_attributes_are_refused_with_reason_and_name(
    overrides: dict[str, Any], reason: Reason, named: str
) -> None:
    got, detail = reason_of(usage_event(**overrides))
    assert got == reason
    assert named in detail


@pytest.mark.parametrize(
    ("event", "reason", "named"),
    [
        (usage_event(tenant=""), Reason.INVALID_DATA, "data.tenant_id"),
        (usage_event(site=None), Reason.MISSING_FIELD, "data.site_id"),
        (usage_event(site=5), Reason.INVALID_DATA, "data.site_id"),
        (usage_event(category=None), Reason.UNCLASSIFIED, "category"),
        (usage_event(category=""), Reason.INVALID_DATA, "data.category"),
        (usage_event(quantity="-1"), Reason.INVALID_QUANTITY, "quantity"),
        (usage_event(quantity="abc"), Reason.INVALID_QUANTITY, "quantity"),
        (usage_event(quantity="0"), Reason.INVALID_QUANTITY, "quantity"),
        (usage_event(quantity=-5), Reason.INVALID_QUANTITY, "quantity"),
        (usage_event(quantity=True), Reason.INVALID_QUANTITY, "quantity"),
        (usage_event(quantity="1.0000001"), Reason.INVALID_QUANTITY, "6 fractional"),
        (usage_event(quantity="1000000000000.000001"), Reason.INVALID_QUANTITY, "10^12"),
        (usage_event(quantity="NaN"), Reason.INVALID_QUANTITY, "quantity"),
        (usage_event(quantity=" 1"), Reason.INVALID_QUANTITY, "quantity"),
        (usage_event(quantity="1_000"), Reason.INVALID_QUANTITY, "quantity"),
        (usage_event(quantity=[1]), Reason.INVALID_QUANTITY, "quantity"),
        (
            {**usage_event(), "data": {"tenant_id": "a", "site_id": "b", "category": "c", "quantity": None}},
            Reason.INVALID_QUANTITY,
            "quantity",
        ),
    ],
)
def test_bad_data_fields_are_refused_with_reason_and_name(
    event: dict[str, Any], reason: Reason, named: str
) -> None:
    got, detail = reason_of(event)
    assert got == reason
    assert named in detail


def test_site_id_missing_is_a_missing_field() -> None:
    event = usage_event()
    del event["data"]["site_id"]
    assert reason_of(event) == (Reason.MISSING_FIELD, "data.site_id is missing")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", "1"),
        ("0.000001", "0.000001"),
        ("1000000000000", "1000000000000"),
        ("1e3", "1E+3"),
        ("2.50", "2.50"),
    ],
)
def test_quantity_edges_that_are_accepted(text: str, expected: str) -> None:
    assert parse_quantity(text) == Decimal(expected)


def test_time_with_nanoseconds_is_truncated_not_refused() -> None:
    assert parse_time("2026-03-14T10:22:31.123456789Z")[0].microsecond == 123456


def test_classification_rules_decide_the_category_before_the_default() -> None:
    rules = build_classifier(
        {
            "rules": [
                {"type": "ai.platform.review.completed.v1", "category": "review"},
                {"data": {"priority": "high"}, "category": "expedited"},
            ]
        },
        "rules.yaml",
    )
    review = usage_event(type="ai.platform.review.completed.v1", category=None)
    urgent = usage_event(category="standard")
    urgent["data"]["priority"] = "high"
    assert check(review, classifier=rules).category == "review"
    assert check(urgent, classifier=rules).category == "expedited"
    assert check(usage_event(category="storage"), classifier=rules).category == "storage"


def test_a_remembered_quantity_text_gives_the_same_decimal_and_bad_texts_stay_bad() -> None:
    shared = checker()
    first = shared.check(usage_event(1, quantity="2.50"), b"")
    again = shared.check(usage_event(2, quantity="2.50"), b"")
    assert (first.quantity, again.quantity) == (Decimal("2.50"), Decimal("2.50"))
    for attempt in range(2):
        with pytest.raises(InvalidEvent) as caught:
            shared.check(usage_event(10 + attempt, quantity="-2.50"), b"")
        assert caught.value.reason == Reason.INVALID_QUANTITY


def _with_text(field: str, text: str) -> dict[str, Any]:
    if field in ("id", "source", "type"):
        return {**usage_event(), field: text}
    keys = {"tenant_id": "tenant", "site_id": "site", "category": "category"}
    return usage_event(**{keys[field]: text})


@pytest.mark.parametrize("field", ["id", "source", "type", "tenant_id", "site_id", "category"])
@pytest.mark.parametrize(("text", "why"), [("a\x00b", "NUL"), ("a\ud800b", "surrogate")])
def test_a_text_postgresql_cannot_store_is_refused_naming_its_field(field: str, text: str, why: str) -> None:
    event = _with_text(field, text)
    with pytest.raises(InvalidEvent) as caught:
        checker().check(event, b"{}")  # the payload's bytes do not matter to the checks
    expected = Reason.INVALID_ATTRIBUTE if field in ("id", "source", "type") else Reason.INVALID_DATA
    assert caught.value.reason == expected
    assert field in caught.value.detail and why in caught.value.detail


@pytest.mark.parametrize("field", ["id", "source", "type", "tenant_id", "site_id", "category"])
def test_other_unicode_texts_are_kept_as_sent(field: str) -> None:
    accepted = checker().check(_with_text(field, "Zürich-東京 ✓"), b"{}")
    stored = {
        "id": accepted.id,
        "source": accepted.source,
        "type": accepted.type,
        "tenant_id": accepted.tenant,
        "site_id": accepted.site,
        "category": accepted.category,
    }
    assert stored[field] == "Zürich-東京 ✓"
