"""Tenant time zones without services: reading config changes, month buckets, notices, the gate."""

from __future__ import annotations

import bisect
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_core.periods import period_of
from ingest.aggregation import AggregateTotal
from ingest.events import UsageEvent
from ingest.outbox_messages import aggregated_notifications
from ingest.periods import TenantPeriods
from ingest.tenant_zone_gate import TenantZoneGate
from ingest.zone_changes import ZoneChange, zone_change
from ingest.zone_rebuild import SPAN_MARGIN, month_buckets, period_span
from rating.config_events import config_changed
from rating.records import ConfigRevision, TenantSettings

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "events"
ZONES = ("UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Pacific/Kiritimati", "Etc/GMT+12")


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text()))


def revision(contract: dict[str, Any] | None, number: int = 1) -> ConfigRevision:
    return ConfigRevision(
        tenant_id="acme",
        revision=number,
        kind="contract_loaded",
        actor="finance",
        reason="onboarding",
        recorded_at=datetime(2026, 3, 2, tzinfo=UTC),
        contract=contract,
        settings=TenantSettings(),
    )


@pytest.mark.parametrize(
    ("contract", "zone"),
    [({"tenant": "acme", "timezone": "America/New_York"}, "America/New_York"), ({"tenant": "acme"}, "UTC")],
)
def test_rating_announces_the_contract_zone_and_ingest_reads_it(contract: dict[str, Any], zone: str) -> None:
    event = config_changed(revision(contract, 4)).event
    validator("billing.config.changed.v1.json").validate(event)
    assert event["data"]["timezone"] == zone
    assert zone_change(event["data"]) == ZoneChange("acme", zone, 4)


def test_an_announcement_without_a_contract_sets_no_zone() -> None:
    event = config_changed(revision(None)).event
    assert event["data"]["timezone"] is None
    assert zone_change(event["data"]) is None
    assert zone_change({"tenant_id": "acme", "revision": 3}) is None  # a publisher without the field


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a JSON object"),
        ({"revision": 1, "timezone": "UTC"}, "data.tenant_id None"),
        ({"tenant_id": "acme", "revision": 0, "timezone": "UTC"}, "data.revision 0 of tenant 'acme'"),
        ({"tenant_id": "acme", "revision": True, "timezone": "UTC"}, "data.revision True"),
        ({"tenant_id": "acme", "revision": 2, "timezone": 5}, "data.timezone 5 of tenant 'acme'"),
        ({"tenant_id": "acme", "revision": 2, "timezone": "Mars/Olympus"}, "not a known IANA zone"),
    ],
)
def test_unusable_announcements_are_refused_saying_which_field(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        zone_change(data)


def test_month_buckets_of_new_york_around_april_first() -> None:
    zone = ZoneInfo("America/New_York")
    buckets = month_buckets(zone, datetime(2026, 3, 31, tzinfo=UTC), datetime(2026, 4, 2, tzinfo=UTC))
    assert buckets.labels == ["2026-03", "2026-04"]
    assert buckets.starts == [
        datetime(2026, 3, 1, 5, tzinfo=UTC),  # EST
        datetime(2026, 4, 1, 4, tzinfo=UTC),  # EDT
        datetime(2026, 5, 1, 4, tzinfo=UTC),
    ]


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(st.sampled_from(ZONES), st.lists(instants, min_size=1, max_size=20))
def test_every_instant_falls_in_the_bucket_of_its_period(zone_name: str, times: list[datetime]) -> None:
    """width_bucket semantics (thresholds sorted, bucket i = [starts[i-1], starts[i])) agree with
    billing_core's period_of for any instant inside the covered span."""
    zone = ZoneInfo(zone_name)
    low, high = min(times), max(times) + timedelta(microseconds=1)
    buckets = month_buckets(zone, low, high)
    assert buckets.starts[0] <= low and high <= buckets.starts[-1]
    assert len(buckets.starts) == len(buckets.labels) + 1
    for instant in times:
        bucket = bisect.bisect_right(buckets.starts, instant)
        assert buckets.labels[bucket - 1] == str(period_of(instant, zone))


@given(st.sampled_from(ZONES), st.sampled_from(ZONES), instants)
def test_the_span_of_old_periods_holds_their_events_whatever_zone_grouped_them(
    old: str, assumed: str, instant: datetime
) -> None:
    """Aggregates grouped in one zone but recorded as another are still covered (the margin)."""
    period = str(period_of(instant, ZoneInfo(old)))
    low, high = period_span([period], ZoneInfo(assumed))
    assert low <= instant < high
    assert period_span(["2026-03", "2026-01"], ZoneInfo("UTC")) == (
        datetime(2026, 1, 1, tzinfo=UTC) - SPAN_MARGIN,
        datetime(2026, 4, 1, tzinfo=UTC) + SPAN_MARGIN,
    )


def test_rebuilt_notices_carry_the_whole_period_even_when_it_is_now_empty() -> None:
    totals = [AggregateTotal("acme", "s1", "standard", "2026-03", Decimal("2.5"), 2)]
    rebuilt = {("acme", "2026-02"), ("acme", "2026-03")}
    messages = aggregated_notifications(totals, "usage.aggregated.v1", rebuilt=rebuilt)
    documents = [json.loads(message.value or b"") for message in messages]
    schema = validator("usage.aggregated.v1.json")
    for document in documents:
        schema.validate(document)
    assert [d["data"] for d in documents] == [
        {"tenant": "acme", "period": "2026-02", "rebuilt": True, "lines": []},
        {
            "tenant": "acme",
            "period": "2026-03",
            "rebuilt": True,
            "lines": [{"site": "s1", "category": "standard", "quantity": "2.5", "events": 2}],
        },
    ]
    assert {message.key for message in messages} == {b"acme"}
    ordinary = json.loads(aggregated_notifications(totals, "usage.aggregated.v1")[0].value or b"")
    assert "rebuilt" not in ordinary["data"]
    ordinary["data"]["lines"] = []
    assert not schema.is_valid(ordinary), "only a rebuilt notice may have no lines"


class FakeZonesConnection:
    """Answers the gate's two statements from a dict, as tenant_zones would."""

    def __init__(self, zones: dict[str, str]) -> None:
        self.zones = zones

    async def execute(self, _: str, tenants: list[str], names: list[str]) -> None:
        for tenant, name in zip(tenants, names, strict=True):
            self.zones.setdefault(tenant, name)

    async def fetch(self, _: str, tenants: list[str] | None = None) -> list[tuple[str, str]]:
        wanted = self.zones if tenants is None else tenants
        return [(tenant, self.zones[tenant]) for tenant in sorted(wanted)]


def usage(tenant: str, n: int, when: datetime, periods: TenantPeriods) -> UsageEvent:
    return UsageEvent(
        "urn:test", f"e{n}", when, "t", tenant, "s1", "standard", periods(tenant, when), Decimal(1), b"{}"
    )


async def test_the_gate_adopts_stored_zones_and_keeps_re_assigning_a_tenant_it_changed() -> None:
    periods = TenantPeriods({"legacy": "Europe/London"})
    gate = TenantZoneGate(periods)
    stored = FakeZonesConnection({"known": "Asia/Kolkata"})
    assert await gate.preload(stored) == 1
    april_2z = datetime(2026, 4, 1, 2, tzinfo=UTC)
    early = [usage(t, n, april_2z, periods) for n, t in enumerate(("new", "ny", "known", "legacy"))]
    stored.zones["ny"] = "America/New_York"  # its contract arrived after the batch was checked

    settled = await gate.settle(stored, early)

    assert [(e.tenant, e.period) for e in settled] == [
        ("new", "2026-04"),
        ("ny", "2026-03"),
        ("known", "2026-04"),
        ("legacy", "2026-04"),
    ]
    assert stored.zones["new"] == "UTC" and stored.zones["legacy"] == "Europe/London"
    assert gate.unsettled == {"ny"}
    # A batch checked before the change but written after it is still put right.
    late = [early[1]._replace(id="e9")]
    assert [e.period for e in await gate.settle(stored, late)] == ["2026-03"]
    untouched = [early[0]]
    assert await gate.settle(stored, untouched) is untouched
