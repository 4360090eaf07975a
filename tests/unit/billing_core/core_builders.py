"""Small builders shared by the billing_core tests (contracts as data, usage, ledgers)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from billing_core import Contract, Line, Period, UsageAggregate, UsageKey, parse_contract

D = Decimal
MARCH = Period(2026, 3)
SITE = "nyc-01"


def example_contract_data(**site_fields: Any) -> dict[str, Any]:
    """The contract of the worked examples (billing rules §8) as a loader would hand it over."""
    site: dict[str, Any] = {
        "id": SITE,
        "name": "New York 01",
        "pricing": [
            {
                "effective_from": "2026-01-01",
                "rates": {
                    "standard": D("1.20"),
                    "expedited": D("2.50"),
                    "review": D("0.40"),
                    "storage": D("0.10"),
                },
                "disabled": ["review"],
                "minimum": {"amount": D("500.00"), "categories": ["standard", "expedited"]},
                "annual_cap": D("60000.00"),
            }
        ],
    }
    site.update(site_fields)
    return {
        "tenant": "acme",
        "name": "ACME Health",
        "currency": "USD",
        "contract_start": "2026-01-01",
        "sites": [site],
    }


def example_contract(**site_fields: Any) -> Contract:
    return parse_contract(example_contract_data(**site_fields), source="example.yaml")


def usage(site: str = SITE, **quantities: Any) -> dict[UsageKey, UsageAggregate]:
    """One period's usage of a site; each category counts as one event per unit of quantity."""
    return {
        UsageKey(site, category): UsageAggregate(site, category, D(str(q)), max(1, int(D(str(q)))))
        for category, q in quantities.items()
    }


def merged(*parts: Mapping[UsageKey, UsageAggregate]) -> dict[UsageKey, UsageAggregate]:
    result: dict[UsageKey, UsageAggregate] = {}
    for part in parts:
        result.update(part)
    return result


def summary(lines: tuple[Line, ...]) -> list[tuple[str, str | None, str, bool]]:
    """(kind, category, amount, billed) of every line, for compact exact assertions."""
    return [(line.kind, line.category, str(line.amount), line.billed) for line in lines]


def july_contract_data(next_year_cap: str | None = None) -> dict[str, Any]:
    """The example contract with contract years starting in July; optionally a new cap from
    the second contract year."""
    data = example_contract_data()
    data["contract_start"] = "2026-07-01"
    data["sites"][0]["pricing"][0]["effective_from"] = "2026-07-01"
    if next_year_cap is not None:
        data["sites"][0]["pricing"].append({"effective_from": "2027-07-01", "annual_cap": next_year_cap})
    return data
