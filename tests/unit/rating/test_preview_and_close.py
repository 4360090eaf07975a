"""What-if preview on a hand-checked example, the close scheduler, and dashboard extras."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from billing_core import Period
from rating.api import RatingApi, install
from rating.contracts import Author, ContractService
from rating.errors import EarlierPeriodOpen, PeriodLocked
from rating.ports import high_water_of
from rating.pricing_preview import PricingPreview

SMALL = {
    "tenant": "small",
    "name": "Small Co",
    "currency": "USD",
    "contract_start": "2026-01-01",
    "sites": [
        {
            "id": "s1",
            "name": "Site 1",
            "pricing": [
                {
                    "effective_from": "2026-01-01",
                    "rates": {"standard": "1.00"},
                    "minimum": {"amount": "150.00"},
                }
            ],
        }
    ],
}
OPS = Author("ops", "test")


async def test_preview_difference_on_a_hand_checked_example(store, usage, issued, clock, closer, contracts):
    await contracts.put_contract("small", SMALL, "small.yaml", OPS)
    usage.add("small", "s1", "standard", "2026-01", "100", 4)
    usage.add("small", "s1", "standard", "2026-02", "200", 5)
    clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    await closer.close("small", Period(2026, 1), actor="ops")
    await closer.close("small", Period(2026, 2), actor="ops")
    preview = await PricingPreview(store, usage, issued, clock).preview(
        "small", "s1", {"rates": {"standard": "1.50"}}, count=2
    )
    # January: 100 × 1.00 = 100.00 + shortfall 50.00 = 150.00; proposed 100 × 1.50 = 150.00, no shortfall.
    # February: 200 × 1.00 = 200.00; proposed 200 × 1.50 = 300.00.
    assert [(r["period"], r["current"], r["proposed"], r["difference"]) for r in preview["rows"]] == [
        ("2026-01", "150.00", "150.00", "0.00"),
        ("2026-02", "200.00", "300.00", "100.00"),
    ]
    assert preview["total_difference"] == "100.00"
    assert preview["assumed_effective_from"] == "2026-01-01"
    # the preview changed nothing
    assert len(await contracts.history("small")) == 1


async def test_preview_uses_only_the_last_n_closed_periods(store, usage, issued, clock, closer, contracts):
    await contracts.put_contract("small", SMALL, "small.yaml", OPS)
    usage.add("small", "s1", "standard", "2026-01", "100")
    usage.add("small", "s1", "standard", "2026-02", "200")
    clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    for month in (1, 2):
        await closer.close("small", Period(2026, month), actor="ops")
    preview = await PricingPreview(store, usage, issued, clock).preview(
        "small", "s1", {"rates": {"standard": "2.00"}}, count=1
    )
    assert preview["periods"] == ["2026-02"]
    assert preview["rows"][0]["difference"] == "200.00"


async def test_scheduler_closes_after_grace_and_waits_for_history(
    store, usage, clock, closer, contracts, caplog
):
    clock.set(datetime(2026, 3, 20, tzinfo=UTC))
    await contracts.put_contract("small", SMALL, "small.yaml", OPS)
    await contracts.put_settings("small", {"grace_hours": 48}, OPS)
    clock.set(datetime(2026, 4, 2, 23, 59, tzinfo=UTC))
    assert await closer.close_due() == []
    clock.set(datetime(2026, 4, 3, 0, 0, tzinfo=UTC))
    # January and February had ended before onboarding: closing them is left to a person, and
    # March, though due, waits until they are closed.
    with caplog.at_level(logging.WARNING, logger="rating.period_close"):
        assert await closer.close_due() == []
    assert "2026-03 cannot close before 2026-01" in caplog.text
    for month in (1, 2):
        await closer.close("small", Period(2026, month), actor="finance")
    closed = await closer.close_due()
    assert [c.period for c in closed] == ["2026-03"]
    assert closed[0].closed_by == "scheduler"
    assert await closer.close_due() == []
    events = [m.event for m in store.outbox if m.event["type"] == "billing.period.closed.v1"]
    assert [e["data"]["period"] for e in events] == ["2026-01", "2026-02", "2026-03"]
    assert events[-1]["data"]["config_revision"] == 2


async def test_periods_close_in_order_from_the_contract_start(store, clock, closer, contracts):
    await contracts.put_contract("small", SMALL, "small.yaml", OPS)
    clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    for open_period in ("2026-01", "2026-02"):
        with pytest.raises(EarlierPeriodOpen) as refused:
            await closer.close("small", Period(2026, 3), actor="ops")
        assert refused.value.status == 409
        assert refused.value.details == {"period": "2026-03", "open_period": open_period}
        assert f"{open_period} is still open" in refused.value.message
        await closer.close("small", Period.parse(open_period), actor="ops")
    assert not (await closer.close("small", Period(2026, 3), actor="ops")).already_closed
    assert await closer.closed_periods("small") == ["2026-01", "2026-02", "2026-03"]
    events = [m.event for m in store.outbox if m.event["type"] == "billing.period.closed.v1"]
    assert [e["data"]["period"] for e in events] == ["2026-01", "2026-02", "2026-03"]


async def test_close_event_and_response_carry_the_high_water_of_the_periods_aggregates(
    store, usage, issued, clock, closer, contracts, dashboard
):
    await contracts.put_contract("small", SMALL, "small.yaml", OPS)
    usage.add("small", "s1", "standard", "2026-01", "100", 4)  # change 1
    usage.add("small", "s1", "standard", "2026-02", "10", 2)  # change 2, February
    usage.add("small", "s1", "expedited", "2026-01", "5", 3)  # change 3
    usage.add("small", "s1", "standard", "2026-01", "1", 1)  # change 4: 5 events in the first row
    usage.add("small", "s1", "storage", "2026-02", "1", 6)  # change 5, February
    usage.add("other", "s1", "standard", "2026-01", "1", 7)  # change 6, another tenant
    january = [row for key, row in usage.rows.items() if key[0] == "small" and row.period == "2026-01"]
    expected = {"last_change": 4, "event_count": 8, "aggregates": 2}
    assert high_water_of(january) == expected
    clock.set(datetime(2026, 3, 10, tzinfo=UTC))
    app = FastAPI()
    install(app, RatingApi(contracts, dashboard, closer, PricingPreview(store, usage, issued, clock)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rating") as client:
        response = await client.post("/v1/periods/small/2026-01/close", headers={"X-Actor": "ops"})
        assert response.status_code == 201
        assert response.json()["high_water"] == expected
        usage.add("small", "s1", "standard", "2026-01", "1", 1)  # late: the close keeps what it saw
        again = await client.post("/v1/periods/small/2026-01/close")
        assert (again.status_code, again.json()["high_water"]) == (200, expected)
    events = [m.event for m in store.outbox if m.event["type"] == "billing.period.closed.v1"]
    assert [(e["data"]["period"], e["data"]["high_water"]) for e in events] == [("2026-01", expected)]


async def test_close_freezes_the_configuration_used(store, clock, closer, contracts: ContractService):
    await contracts.put_contract("small", SMALL, "small.yaml", OPS)
    clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    for month in (1, 2):
        await closer.close("small", Period(2026, month), actor="ops")
    result = await closer.close("small", Period(2026, 3), actor="ops")
    await contracts.add_site_version("small", "s1", {"rates": {"standard": "2.00"}}, OPS)
    frozen = await contracts.contract_for_period("small", Period(2026, 3))
    assert frozen["frozen"] is True
    assert frozen["sites"][0]["terms"]["rates"]["standard"] == "1.00"
    assert result.closed.contract["sites"][0]["pricing"] == SMALL["sites"][0]["pricing"]


async def test_period_before_contract_start_cannot_close(closer, contracts, clock):
    await contracts.put_contract("small", SMALL, "small.yaml", OPS)
    with pytest.raises(PeriodLocked, match="before the contract start"):
        await closer.close("small", Period(2025, 12), actor="ops")


async def test_dashboard_shows_minimum_progress_and_cap_projection(
    contracts, dashboard, usage, clock, contract_data
):
    await contracts.put_contract("acme", contract_data, "contract.yaml", OPS)
    clock.set(datetime(2026, 3, 11, tzinfo=UTC))  # 10 of 31 days elapsed
    usage.add("acme", "nyc-01", "standard", "2026-03", "300")
    usage.add("acme", "nyc-01", "expedited", "2026-03", "40")
    usage.add("acme", "bos-02", "standard", "2026-03", "1000")
    body = json.loads(await dashboard.view("acme", None))
    assert body["period"] == "2026-03" and body["status"] == "open"
    nyc = next(s for s in body["sites"] if s["site"] == "nyc-01")
    assert nyc["minimum_progress"] == {
        "minimum": "500.00",
        "due": "500.00",
        "eligible": "460.00",
        "shortfall": "40.00",
        "met": False,
    }
    assert [line["amount"] for line in nyc["lines"]] == ["100.00", "360.00", "40.00"]
    bos = next(s for s in body["sites"] if s["site"] == "bos-02")
    # bos-02: cap 6000.00; January and February paid their 300.00 minimum; March has 1000 × 1.20
    # = 1200.00 in 10 days, so 4200.00 remain at 120.00/day: 35 more days from 11 March.
    assert bos["billed_to_date"] == "1800.00"
    assert bos["cap_remaining"] == "4200.00"
    assert bos["projected_cap"] == {"reached": False, "date": "2026-04-15"}
