"""Ingest's cached period assignment agrees with billing_core's period_of, whatever the offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from billing_core.periods import period_of
from ingest.periods import TenantPeriods

ZONES = ("UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Pacific/Kiritimati")
BOUNDARY = datetime(2026, 4, 1, 4, 0, tzinfo=UTC)
"""Midnight of April 1st in New York (EDT): the month boundary the times below crowd around."""
near_boundary = st.integers(min_value=-3 * 86_400_000_000, max_value=3 * 86_400_000_000).map(
    lambda micros: BOUNDARY + timedelta(microseconds=micros)
)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(0)), timezone(timedelta(hours=-5)), ZoneInfo("Asia/Tokyo")]
)


@given(st.lists(st.tuples(st.sampled_from(ZONES), near_boundary, offsets), min_size=1, max_size=40))
def test_each_event_gets_the_period_of_its_instant_in_its_tenant_zone(
    events: list[tuple[str, datetime, timezone]],
) -> None:
    """The remembered boundaries are compared field by field for UTC times and as timestamps for
    any other tzinfo; either way, and in any order, the answer is billing_core's."""
    periods = TenantPeriods({zone: zone for zone in ZONES})
    for zone, instant, written_in in events:
        event_time = instant.astimezone(written_in)
        assert periods(zone, event_time) == str(period_of(instant, ZoneInfo(zone))), (zone, event_time)
