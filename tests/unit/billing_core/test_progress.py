"""Minimum progress and cap projection read off rated site sections (billing rules §8 contract)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core_builders import MARCH, SITE, D, example_contract, example_contract_data, usage

from billing_core import (
    BillingLedger,
    Contract,
    MinimumProgress,
    Period,
    SiteSection,
    cap_projection,
    minimum_progress,
    parse_contract,
    rate_invoice,
)

MARCH_11 = datetime(2026, 3, 11, tzinfo=UTC)  # 10 of March's 31 days have passed


def march_section(contract: Contract, billed_so_far: str = "0.00", **quantities: int) -> SiteSection:
    ledger = BillingLedger(billed={(SITE, Period(2026, 1)): D(billed_so_far)})
    (section,) = rate_invoice(contract, MARCH, {MARCH: usage(**quantities)}, ledger).sites
    return section


def test_case_a_disabled_review_does_not_count_towards_the_minimum() -> None:
    contract = example_contract()
    section = march_section(contract, "1000.00", standard=300, expedited=40, review=100)
    progress = minimum_progress(contract, section, MARCH)
    assert progress == MinimumProgress(D("500.00"), D("500.00"), D("460.00"), D("40.00"))
    assert progress is not None and not progress.met


def test_case_d_non_counting_storage_leaves_the_shortfall() -> None:
    contract = example_contract()
    progress = minimum_progress(contract, march_section(contract, standard=100, storage=1000), MARCH)
    assert progress == MinimumProgress(D("500.00"), D("500.00"), D("120.00"), D("380.00"))


def test_case_e_minimum_due_is_prorated_to_active_days() -> None:
    contract = example_contract(active_from="2026-03-16")
    progress = minimum_progress(contract, march_section(contract), MARCH)
    assert progress == MinimumProgress(D("500.00"), D("258.06"), D("0.00"), D("258.06"))


def test_minimum_met_when_eligible_reaches_what_is_due() -> None:
    contract = example_contract()
    progress = minimum_progress(contract, march_section(contract, standard=500), MARCH)
    assert progress == MinimumProgress(D("500.00"), D("500.00"), D("600.00"), D("0.00"))
    assert progress is not None and progress.met


def test_no_minimum_in_force_gives_none() -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"][0]["minimum"] = None
    contract = parse_contract(data, source="no-minimum.yaml")
    assert minimum_progress(contract, march_section(contract, standard=10), MARCH) is None


def test_cap_date_at_this_periods_pace() -> None:
    # 460.00 of billed usage in 10 days is 46.00 a day; the shortfall (40.00) is not pace.
    # 60000.00 − 58580.00 − 500.00 leaves 920.00: twenty more days from 11 March.
    contract = example_contract()
    section = march_section(contract, "58580.00", standard=300, expedited=40)
    projection = cap_projection(contract, section, MARCH, MARCH_11)
    assert projection is not None
    assert (projection.remaining, projection.billed_usage) == (D("920.00"), D("460.00"))
    assert (projection.reached, projection.date) == (False, date(2026, 3, 31))


def test_cap_reached_has_no_date() -> None:
    contract = example_contract()
    section = march_section(contract, "60000.00", standard=300, expedited=40)
    projection = cap_projection(contract, section, MARCH, MARCH_11)
    assert projection is not None and (projection.reached, projection.date) == (True, None)


def projected(contract: Contract, section: SiteSection, now: datetime) -> tuple[bool, date | None]:
    projection = cap_projection(contract, section, MARCH, now)
    assert projection is not None
    return projection.reached, projection.date


def test_no_date_beyond_ten_years_after_the_period_or_without_usage() -> None:
    contract = example_contract()
    busy = march_section(contract, standard=300)  # 360.00 in 10 days, 59500.00 left: 1652.8 days
    assert projected(contract, busy, MARCH_11) == (False, date(2030, 9, 18))
    slow = march_section(contract, standard=1)  # 1.20 in 10 days: more than ten years
    assert projected(contract, slow, MARCH_11) == (False, None)
    assert projected(contract, busy, datetime(2026, 4, 2, tzinfo=UTC)) == (False, None)
    assert projected(contract, march_section(contract), MARCH_11) == (False, None)


def test_no_cap_gives_none() -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"][0]["annual_cap"] = None
    contract = parse_contract(data, source="no-cap.yaml")
    assert cap_projection(contract, march_section(contract, standard=300), MARCH, MARCH_11) is None
