"""Effective-dated contract changes against the in-memory store (rules §3)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing_core import Period, terms_for
from rating.contract_documents import load_contract
from rating.contracts import Author, ContractService
from rating.errors import InvalidInput, NotFound, PeriodLocked

ALICE = Author("alice@acme", "onboarding")


async def onboard(contracts: ContractService, data) -> None:
    await contracts.put_contract("acme", data, "contract.yaml", ALICE)


async def test_version_posted_on_20_march_is_not_used_for_march(contracts, contract_data, clock):
    await onboard(contracts, contract_data)
    result = await contracts.add_site_version(
        "acme", "nyc-01", {"rates": {"standard": "1.35"}}, Author("bob", "price rise")
    )
    assert result.revision is not None
    assert result.revision.effective_from == date(2026, 4, 1)
    _, contract = await contracts.contract("acme")
    assert terms_for(contract, "nyc-01", Period(2026, 3)).rates["standard"] == Decimal("1.20")
    assert terms_for(contract, "nyc-01", Period(2026, 4)).rates["standard"] == Decimal("1.35")
    march = await contracts.contract_for_period("acme", Period(2026, 3))
    nyc = next(site for site in march["sites"] if site["site"] == "nyc-01")
    assert nyc["terms"]["rates"]["standard"] == "1.20"


@pytest.mark.parametrize(
    ("effective_from", "period", "word"),
    [
        ("2026-03-01", "2026-03", "current"),
        ("2026-02-01", "2026-02", "past"),
        ("2025-12-01", "2025-12", "past"),
    ],
)
async def test_version_for_current_or_past_period_is_refused_naming_it(
    contracts, contract_data, effective_from, period, word
):
    await onboard(contracts, contract_data)
    with pytest.raises(PeriodLocked) as refused:
        await contracts.add_site_version(
            "acme", "nyc-01", {"effective_from": effective_from, "rates": {"standard": "1.35"}}, ALICE
        )
    assert period in refused.value.message
    assert word in refused.value.message
    assert refused.value.details["period"] == period
    assert len(await contracts.history("acme")) == 1


async def test_version_for_an_invoiced_period_is_refused(contracts, closer, contract_data, clock):
    await onboard(contracts, contract_data)
    clock.set(datetime(2026, 5, 2, tzinfo=UTC))
    for month in (1, 2, 3, 4):
        await closer.close("acme", Period(2026, month), actor="finance")
    clock.set(datetime(2026, 3, 20, tzinfo=UTC))  # a clock gone backwards must not reopen April
    with pytest.raises(PeriodLocked) as refused:
        await contracts.add_site_version(
            "acme", "nyc-01", {"effective_from": "2026-04-01", "rates": {"standard": "1.35"}}, ALICE
        )
    assert "2026-04" in refused.value.message
    assert "invoiced" in refused.value.message


async def test_effective_from_must_be_a_period_start(contracts, contract_data):
    await onboard(contracts, contract_data)
    with pytest.raises(InvalidInput, match="first day"):
        await contracts.add_site_version("acme", "nyc-01", {"effective_from": "2026-05-15"}, ALICE)


async def test_unknown_site_and_tenant_are_not_found(contracts, contract_data):
    with pytest.raises(NotFound):
        await contracts.add_site_version("acme", "nyc-01", {"rates": {"standard": "1"}}, ALICE)
    await onboard(contracts, contract_data)
    with pytest.raises(NotFound, match="lax-09"):
        await contracts.add_site_version("acme", "lax-09", {"rates": {"standard": "1"}}, ALICE)


async def test_invalid_version_is_refused_with_its_path(contracts, contract_data):
    await onboard(contracts, contract_data)
    with pytest.raises(InvalidInput) as refused:
        await contracts.add_site_version("acme", "nyc-01", {"rates": {"standard": "-1"}}, ALICE)
    paths = [issue["path"] for issue in refused.value.details["issues"]]
    assert any("sites" in path and "rates" in path for path in paths), paths


async def test_history_keeps_every_version_with_author_reason_and_diff(contracts, contract_data, clock):
    await onboard(contracts, contract_data)
    await contracts.add_site_version("acme", "nyc-01", {"rates": {"standard": "1.35"}}, Author("bob", "rise"))
    await contracts.add_site_version(
        "acme", "nyc-01", {"effective_from": "2026-06-01", "annual_cap": None}, Author("carol", "cap removed")
    )
    entries = await contracts.history("acme")
    history = [revision for revision, _ in entries]
    assert [(r.revision, r.kind, r.actor, r.reason) for r in history] == [
        (1, "contract_loaded", "alice@acme", "onboarding"),
        (2, "site_pricing_added", "bob", "rise"),
        (3, "site_pricing_added", "carol", "cap removed"),
    ]
    assert history[1].changes == [
        {
            "path": "sites[nyc-01].pricing[2026-04-01]",
            "change": "added",
            "after": {"effective_from": "2026-04-01", "rates": {"standard": "1.35"}},
        }
    ]
    assert history[2].changes[0]["path"] == "sites[nyc-01].pricing[2026-06-01]"
    assert history[2].changes[0]["after"]["annual_cap"] is None
    # against the version in force before each one: April's defaults already cut standard to 1.10
    assert [effect for _, effect in entries] == [
        None,
        [{"path": "rates.standard", "change": "changed", "before": "1.10", "after": "1.35"}],
        [{"path": "annual_cap", "change": "changed", "before": "60000.00", "after": None}],
    ]
    # the earlier version is still there and still in force for April and May
    _, contract = await contracts.contract("acme")
    assert terms_for(contract, "nyc-01", Period(2026, 5)).annual_cap == Decimal("60000.00")
    assert terms_for(contract, "nyc-01", Period(2026, 6)).annual_cap is None


async def test_second_change_for_the_same_date_is_layered_not_lost(contracts, contract_data):
    await onboard(contracts, contract_data)
    await contracts.add_site_version("acme", "nyc-01", {"rates": {"standard": "1.35"}}, ALICE)
    await contracts.add_site_version("acme", "nyc-01", {"rates": {"expedited": "2.75"}}, ALICE)
    _, contract = await contracts.contract("acme")
    rates = terms_for(contract, "nyc-01", Period(2026, 4)).rates
    assert (rates["standard"], rates["expedited"]) == (Decimal("1.35"), Decimal("2.75"))
    history = [revision for revision, _ in await contracts.history("acme")]
    assert history[2].changes == [
        {"path": "sites[nyc-01].pricing[2026-04-01].rates.expedited", "change": "added", "after": "2.75"}
    ]


async def test_concurrent_changes_to_one_site_are_all_kept(contracts, contract_data):
    await onboard(contracts, contract_data)
    categories = ["standard", "expedited", "storage", "review"]
    await asyncio.gather(
        *(
            contracts.add_site_version(
                "acme",
                "nyc-01",
                {"effective_from": f"2026-{month:02d}-01", "rates": {cat: f"1.{month:02d}"}},
                ALICE,
            )
            for month in range(4, 12)
            for cat in categories
        )
    )
    history = [revision for revision, _ in await contracts.history("acme")]
    assert [r.revision for r in history] == list(range(1, 2 + 8 * 4))
    _, contract = await contracts.contract("acme")
    for month in range(4, 12):
        rates = terms_for(contract, "nyc-01", Period(2026, month)).rates
        assert all(rates[cat] == Decimal(f"1.{month:02d}") for cat in categories)


async def test_replacing_the_contract_may_not_reprice_an_invoiced_period(
    contracts, closer, contract_data, clock
):
    await onboard(contracts, contract_data)
    await closer.close("acme", Period(2026, 1), actor="finance")
    first_default = {
        **contract_data["defaults"][0],
        "rates": {**contract_data["defaults"][0]["rates"], "standard": "9"},
    }
    repriced = {**contract_data, "defaults": [first_default, *contract_data["defaults"][1:]]}
    with pytest.raises(PeriodLocked, match="2026-01"):
        await contracts.put_contract("acme", repriced, "contract.yaml", ALICE)
    # a past period that is not invoiced may still be changed by a full load
    later = dict(contract_data)
    later["defaults"] = [
        *contract_data["defaults"],
        {"effective_from": date(2026, 2, 1), "rates": {"review": "0.45"}},
    ]
    result = await contracts.put_contract("acme", later, "contract.yaml", Author("dave", "fix February"))
    assert result.revision is not None and result.revision.kind == "contract_replaced"
    assert [c["path"] for c in result.revision.changes] == ["defaults[2026-02-01]"]


async def test_repeating_the_same_contract_records_nothing(contracts, contract_data):
    await onboard(contracts, contract_data)
    again = await contracts.put_contract("acme", contract_data, "contract.yaml", ALICE)
    assert again.revision is None
    assert len(await contracts.history("acme")) == 1


async def test_contract_for_another_tenant_is_refused(contracts, contract_data):
    with pytest.raises(InvalidInput, match="not 'globex'"):
        await contracts.put_contract("globex", contract_data, "contract.yaml", ALICE)


async def test_every_change_is_emitted_through_the_outbox(contracts, contract_data, store):
    await onboard(contracts, contract_data)
    await contracts.add_site_version("acme", "nyc-01", {"rates": {"standard": "1.35"}}, ALICE)
    await contracts.put_settings("acme", {"grace_hours": 24}, ALICE)
    events = [m.event for m in store.outbox]
    assert [e["type"] for e in events] == ["billing.config.changed.v1"] * 3
    assert [e["data"]["revision"] for e in events] == [1, 2, 3]
    assert events[1]["data"]["site_id"] == "nyc-01"
    assert events[1]["data"]["effective_from"] == "2026-04-01"


async def test_settings_default_then_change_and_refuse_contract_fields(contracts, contract_data):
    await onboard(contracts, contract_data)
    view = await contracts.settings("acme")
    assert view["grace_hours"] == 72
    assert view["reconciliation_threshold"] == "0.00"
    assert (view["currency"], view["timezone"], view["contract_start"]) == ("USD", "UTC", "2026-01-01")
    await contracts.put_settings("acme", {"grace_hours": 48, "reconciliation_threshold": "0.05"}, ALICE)
    view = await contracts.settings("acme")
    assert (view["grace_hours"], view["reconciliation_threshold"]) == (48, "0.05")
    with pytest.raises(InvalidInput, match="currency comes from the contract"):
        await contracts.put_settings("acme", {"currency": "EUR"}, ALICE)
    with pytest.raises(InvalidInput, match="grace_hours"):
        await contracts.put_settings("acme", {"grace_hours": -1}, ALICE)
    with pytest.raises(InvalidInput, match="reconciliation_threshold"):
        await contracts.put_settings("acme", {"reconciliation_threshold": 0.1}, ALICE)


async def test_stored_document_loads_back_to_the_same_contract(contracts, contract_data):
    await onboard(contracts, contract_data)
    state, contract = await contracts.contract("acme")
    assert load_contract(contract_data, "contract.yaml") == contract
    assert state.contract is not None and state.contract["tenant"] == "acme"
