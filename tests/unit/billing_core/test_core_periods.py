"""Periods in the tenant's time zone and contract years."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from billing_core import ContractYear, Period, UsageEvent, aggregate_events, contract_year_of, period_of

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def test_period_text_and_neighbours() -> None:
    assert str(Period.parse("2026-03")) == "2026-03"
    assert Period(2026, 12).next() == Period(2027, 1)
    assert Period(2026, 1).previous() == Period(2025, 12)
    assert Period(2024, 2).days == 29
    assert Period(2026, 2).days == 28
    with pytest.raises(ValueError, match="YYYY-MM"):
        Period.parse("2026-3")
    with pytest.raises(ValueError, match="invalid period"):
        Period.parse("2026-13")


def test_period_bounds_are_local_midnights() -> None:
    march = Period(2026, 3)
    assert march.start(NEW_YORK) == datetime(2026, 3, 1, tzinfo=NEW_YORK)
    assert march.end(NEW_YORK).astimezone(UTC) == datetime(
        2026, 4, 1, 4, tzinfo=UTC
    )  # EDT after the DST switch
    assert march.start("UTC").astimezone(UTC) == datetime(2026, 3, 1, tzinfo=UTC)


def test_new_york_midnight_of_month_end() -> None:
    # 2026-04-01 03:59:59Z is still 31 March in New York (UTC-4); 04:00:00Z is April.
    assert period_of(datetime(2026, 4, 1, 3, 59, 59, tzinfo=UTC), NEW_YORK) == Period(2026, 3)
    assert period_of(datetime(2026, 4, 1, 4, 0, 0, tzinfo=UTC), NEW_YORK) == Period(2026, 4)
    assert period_of(datetime(2026, 4, 1, 3, 59, 59, tzinfo=UTC), "UTC") == Period(2026, 4)


def test_london_midnight_of_month_end_in_summer_time() -> None:
    # London is UTC+1 in June: 30 June 23:30Z is already 1 July locally.
    assert period_of(datetime(2026, 6, 30, 22, 59, 59, tzinfo=UTC), LONDON) == Period(2026, 6)
    assert period_of(datetime(2026, 6, 30, 23, 0, 0, tzinfo=UTC), LONDON) == Period(2026, 7)
    # In winter London equals UTC.
    assert period_of(datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC), LONDON) == Period(2026, 1)


def test_events_are_aggregated_in_the_tenant_zone() -> None:
    def event(i: int, when: datetime) -> UsageEvent:
        return UsageEvent("src", str(i), when, "acme", "s1", "standard", D(1))

    events = [
        event(1, datetime(2026, 4, 1, 3, 0, tzinfo=UTC)),  # 23:00 on 31 March in New York
        event(2, datetime(2026, 4, 1, 5, 0, tzinfo=UTC)),
    ]
    by_period = aggregate_events(events, "America/New_York")
    assert {str(p): [a.quantity for a in u.values()] for p, u in by_period.items()} == {
        "2026-03": [D(1)],
        "2026-04": [D(1)],
    }
    assert set(aggregate_events(events, "UTC")) == {Period(2026, 4)}


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        period_of(datetime(2026, 3, 1), "UTC")


def test_contract_year_starting_in_july() -> None:
    start = date(2026, 7, 1)
    first = contract_year_of(start, Period(2026, 7))
    assert first.label == "2026-07/2027-06"
    assert first.name == "contract year 1"
    assert first.periods()[0] == Period(2026, 7) and first.periods()[-1] == Period(2027, 6)
    assert contract_year_of(start, Period(2027, 6)) == first
    second = contract_year_of(start, Period(2027, 7))
    assert (second.index, second.label) == (2, "2027-07/2028-06")
    assert contract_year_of(start, Period(2026, 6)).index == 0
    assert ContractYear.from_label("2027-07/2028-06", start) == second


def test_contract_start_must_be_a_month_start() -> None:
    with pytest.raises(ValueError, match="1st"):
        contract_year_of(date(2026, 7, 2), Period(2026, 7))


def test_active_days_of_a_window() -> None:
    march = Period(2026, 3)
    assert march.days_within(date(2026, 3, 16), None) == 16
    assert march.days_within(None, date(2026, 3, 11)) == 10
    assert march.days_within(date(2026, 3, 5), date(2026, 3, 8)) == 3
    assert march.days_within(date(2026, 4, 1), None) == 0
    assert march.days_within(None, None) == 31
