"""Contract parsing, validation issues, round trip, and effective-dated terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from core_builders import SITE, example_contract, example_contract_data, july_contract_data

from billing_core import (
    ContractError,
    Minimum,
    Period,
    contract_to_data,
    parse_contract,
    terms_for,
)


def layered_contract_data() -> dict[str, Any]:
    return {
        "tenant": "acme",
        "name": "ACME",
        "currency": "USD",
        "contract_start": date(2026, 1, 1),
        "timezone": "America/New_York",
        "defaults": [
            {
                "effective_from": date(2026, 1, 1),
                "rates": {"standard": D("1.20"), "expedited": D("2.50"), "review": D("0.40")},
                "annual_cap": D("100000.00"),
            },
            {"effective_from": date(2026, 6, 1), "rates": {"review": D("0.30")}},
        ],
        "sites": [
            {
                "id": "nyc-01",
                "name": "New York 01",
                "active_from": date(2026, 1, 1),
                "active_until": None,
                "pricing": [
                    {
                        "effective_from": date(2026, 1, 1),
                        "disabled": ["review"],
                        "minimum": {"amount": D("500.00"), "categories": ["standard", "expedited"]},
                        "annual_cap": D("60000.00"),
                    },
                    {
                        "effective_from": date(2026, 4, 1),
                        "rates": {"standard": D("1.10")},
                        "annual_cap": None,
                    },
                    {"effective_from": date(2026, 7, 1), "rates": {"expedited": None}, "minimum": None},
                ],
            },
            {"id": "bos-01", "name": "Boston 01"},
        ],
    }


def test_site_version_is_laid_over_the_default_version() -> None:
    contract = parse_contract(layered_contract_data())
    march = terms_for(contract, "nyc-01", Period(2026, 3))
    assert march is not None
    assert dict(march.rates) == {"standard": D("1.20"), "expedited": D("2.50"), "review": D("0.40")}
    assert march.disabled == frozenset({"review"})
    assert march.minimum == Minimum(D("500.00"), ("standard", "expedited"))
    assert march.annual_cap == D("60000.00")


def test_later_versions_state_only_what_changes_and_null_removes() -> None:
    contract = parse_contract(layered_contract_data())
    april = terms_for(contract, "nyc-01", Period(2026, 4))
    assert april is not None
    assert april.rates["standard"] == D("1.10")
    assert april.rates["expedited"] == D("2.50")  # inherited
    assert april.minimum is not None  # inherited
    assert april.annual_cap is None  # the site removed its cap; the default cap does not show through
    july = terms_for(contract, "nyc-01", Period(2026, 7))
    assert july is not None
    assert "expedited" not in july.rates
    assert july.rates["review"] == D("0.30")  # default changed in June
    assert july.minimum is None


def test_site_without_own_pricing_uses_the_defaults() -> None:
    contract = parse_contract(layered_contract_data())
    terms = terms_for(contract, "bos-01", Period(2026, 2))
    assert terms is not None
    assert terms.annual_cap == D("100000.00")
    assert terms.disabled == frozenset()


def test_no_terms_before_any_version_or_contract_start_or_for_unknown_sites() -> None:
    contract = example_contract()
    assert terms_for(contract, SITE, Period(2025, 12)) is None
    assert terms_for(contract, "nowhere", Period(2026, 3)) is None
    late_data = example_contract_data()
    late_data["sites"][0]["pricing"][0]["effective_from"] = "2026-05-01"
    late = parse_contract(late_data)
    assert terms_for(late, SITE, Period(2026, 4)) is None
    assert terms_for(late, SITE, Period(2026, 5)) is not None


def test_version_change_exactly_at_a_contract_year_boundary() -> None:
    contract = parse_contract(july_contract_data(next_year_cap="70000.00"))
    june = terms_for(contract, SITE, Period(2027, 6))
    july = terms_for(contract, SITE, Period(2027, 7))
    assert june is not None and june.annual_cap == D("60000.00")
    assert july is not None and july.annual_cap == D("70000.00")


def test_round_trip_through_plain_data() -> None:
    contract = parse_contract(layered_contract_data())
    data = contract_to_data(contract)
    assert parse_contract(data) == contract
    assert data["sites"][0]["pricing"][1]["annual_cap"] is None
    assert "annual_cap" not in data["sites"][0]["pricing"][2]
    assert data["sites"][0]["pricing"][2]["rates"] == {"expedited": None}


def issues_of(data: Any) -> list[tuple[str, str, str]]:
    with pytest.raises(ContractError) as caught:
        parse_contract(data, source="acme.yaml")
    return [(issue.source, issue.path, issue.message) for issue in caught.value.issues]


def only_issue(data: Any) -> tuple[str, str, str]:
    issues = issues_of(data)
    assert len(issues) == 1, issues
    return issues[0]


def test_effective_from_must_be_a_month_start() -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"].append({"effective_from": "2026-03-20", "rates": {"standard": "1.00"}})
    source, path, message = only_issue(data)
    assert (source, path) == ("acme.yaml", "sites[0].pricing[1].effective_from")
    assert "first day of a month" in message


def test_unknown_currency() -> None:
    data = example_contract_data()
    data["currency"] = "XXX"
    assert only_issue(data)[1:] == (
        "currency",
        "unknown currency 'XXX' (known: AUD, CAD, CHF, EUR, GBP, JPY, KRW, SEK, USD)",
    )


@pytest.mark.parametrize(
    ("price", "reason"),
    [
        (D("-0.10"), "must not be negative"),
        (D("0.1234567"), "more than 6 fractional digits"),
        (1.2, "binary float"),
    ],
)
def test_bad_prices(price: Any, reason: str) -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"][0]["rates"]["standard"] = price
    _, path, message = only_issue(data)
    assert path == "sites[0].pricing[0].rates.standard"
    assert reason in message


def test_minimum_categories_must_be_priced() -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"][0]["minimum"]["categories"] = ["standard", "archival"]
    _, path, message = only_issue(data)
    assert path == "sites[0].pricing[0].minimum.categories[1]"
    assert "'archival' has no rate" in message


def test_duplicate_site_ids() -> None:
    data = example_contract_data()
    data["sites"].append({"id": SITE})
    assert only_issue(data)[1:] == ("sites[1].id", "duplicate site id 'nyc-01' (also sites[0])")


def test_unknown_fields_at_every_level() -> None:
    data = example_contract_data()
    data["owner"] = "x"
    data["sites"][0]["region"] = "us"
    data["sites"][0]["pricing"][0]["minimum"]["amout"] = "1"
    paths = [path for _, path, _ in issues_of(data)]
    assert paths == ["owner", "sites[0].region", "sites[0].pricing[0].minimum.amout"]


def test_contract_start_must_be_the_first() -> None:
    data = example_contract_data()
    data["contract_start"] = "2026-01-15"
    assert only_issue(data)[1] == "contract_start"


def test_active_until_must_follow_active_from() -> None:
    data = example_contract_data(active_from="2026-03-10", active_until="2026-03-10")
    _, path, message = only_issue(data)
    assert path == "sites[0].active_until"
    assert "not after active_from 2026-03-10" in message


def test_bad_time_zone() -> None:
    data = example_contract_data()
    data["timezone"] = "Europe/Atlantis"
    assert only_issue(data)[1:] == ("timezone", "unknown time zone 'Europe/Atlantis'")


def test_every_issue_is_reported_at_once_and_the_message_names_file_and_path() -> None:
    data = example_contract_data()
    data["currency"] = "XXX"
    data["timezone"] = "Nowhere/Land"
    data["sites"][0]["pricing"][0]["annual_cap"] = D("-5")
    with pytest.raises(ContractError) as caught:
        parse_contract(data, source="acme.yaml")
    assert len(caught.value.issues) == 3
    text = str(caught.value)
    assert "acme.yaml: sites[0].pricing[0].annual_cap: amount -5 must not be negative" in text
    assert "acme.yaml: timezone: unknown time zone 'Nowhere/Land'" in text


def test_two_versions_on_the_same_day_are_refused() -> None:
    data = example_contract_data()
    data["sites"][0]["pricing"].append({"effective_from": "2026-01-01", "annual_cap": "1.00"})
    _, path, message = only_issue(data)
    assert path == "sites[0].pricing[1].effective_from"
    assert "sites[0].pricing[0]" in message


def test_amounts_may_not_be_finer_than_the_currency() -> None:
    data = example_contract_data()
    data["currency"] = "JPY"
    data["sites"][0]["pricing"][0]["minimum"]["amount"] = D("500.50")
    assert only_issue(data)[1] == "sites[0].pricing[0].minimum.amount"


def test_not_a_mapping_at_all() -> None:
    assert only_issue([1, 2])[1:] == ("", "must be a mapping, got list")
