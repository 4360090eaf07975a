"""Running charges rate only the requested period, reusing the run before it while its basis holds,
and still equal the full run from the contract start after every kind of change."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from billing_core import Period, RatingError, invoice_to_data, rate_run, rate_run_with_ledger
from rating.contracts import Author
from rating.dashboard import body_json as dashboard_body_json
from rating.issued_invoices import ledger_before
from rating.usage_view import usage_by_period

OPS = Author("ops", "test")
SITES = ("nyc-01", "bos-02", "chi-03", "sfo-04", "den-05")
CATEGORIES = ("standard", "expedited", "review", "storage")


async def full_run(contracts, usage, issued, tenant: str, period: Period) -> dict[str, Any]:
    """What the dashboard showed before it kept anything between refreshes: the whole run."""
    _, contract = await contracts.contract(tenant)
    ledger = ledger_before(issued.invoices[tenant], period)  # not through issued(), which counts reads
    try:
        invoices, _ = rate_run_with_ledger(
            contract, usage_by_period(await usage.usage(tenant, str(period))), period, ledger
        )
    except RatingError as exc:
        return {"error": str(exc)}
    return invoice_to_data(invoices[-1])


def shown(body: dict[str, Any]) -> dict[str, Any]:
    return {"error": body["error"]["message"]} if "error" in body else body["invoice"]


async def refresh(dashboard, store, tenant: str, period: Period) -> dict[str, Any]:
    """What the usage consumer does for a touched tenant-period."""
    snapshot = await dashboard.compute(tenant, period)
    await store.save_snapshots([snapshot], {}, "")
    return snapshot.body


async def onboard(contracts, contract_data, clock, now: datetime) -> None:
    await contracts.put_contract("acme", contract_data, "contract.yaml", OPS)
    clock.set(now)


async def issue_through(contracts, usage, issued, tenant: str, period: Period) -> None:
    """Issue every period from the contract start through ``period``, as the invoice service would."""
    _, contract = await contracts.contract(tenant)
    run = rate_run(contract, usage_by_period(await usage.usage(tenant, str(period))), period)
    issued.invoices[tenant] = run


async def test_a_refresh_rates_only_its_period_and_equals_the_full_run(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 6, 10, tzinfo=UTC))
    for month in range(1, 6):
        usage.add("acme", "bos-02", "standard", f"2026-{month:02d}", "1200")
        usage.add("acme", "nyc-01", "expedited", f"2026-{month:02d}", "90")
    june = Period(2026, 6)
    for step in range(5):
        usage.add("acme", "bos-02", "standard", "2026-06", "100")
        usage.add("acme", "chi-03", "review", "2026-06", "7", events=3)
        body = await refresh(dashboard, store, "acme", june)
        assert shown(body) == await full_run(contracts, usage, issued, "acme", june)
    assert body["high_water"]["event_count"] == 5 * 4
    # The earlier periods and the issued invoices were read once, not once per refresh.
    assert usage.reads_before == 1
    assert issued.reads == 1


async def test_late_usage_for_an_earlier_open_period_shows_in_the_next_view(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 4, 10, tzinfo=UTC))
    usage.add("acme", "bos-02", "standard", "2026-03", "3000")
    usage.add("acme", "bos-02", "standard", "2026-04", "1000")
    april = Period(2026, 4)
    before = await refresh(dashboard, store, "acme", april)
    # Late March usage takes Boston past its annual cap: April's cap credit grows. No notification
    # for April arrives; the view notices that the earlier aggregates moved.
    usage.add("acme", "bos-02", "standard", "2026-03", "2500")
    after = json.loads(await dashboard.view("acme", april))
    assert shown(after) == await full_run(contracts, usage, issued, "acme", april)
    assert after["total"] != before["total"]
    assert usage.reads_before == 2


async def test_a_newly_issued_invoice_and_late_usage_for_it_show_in_the_next_view(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 3, 10, tzinfo=UTC))
    usage.add("acme", "nyc-01", "standard", "2026-01", "300")
    usage.add("acme", "nyc-01", "standard", "2026-02", "450")
    usage.add("acme", "nyc-01", "standard", "2026-03", "100")
    march = Period(2026, 3)
    await refresh(dashboard, store, "acme", march)
    await issue_through(contracts, usage, issued, "acme", Period(2026, 2))
    usage.add("acme", "nyc-01", "standard", "2026-01", "50")  # after January was issued
    body = json.loads(await dashboard.view("acme", march))
    assert shown(body) == await full_run(contracts, usage, issued, "acme", march)
    adjustments = [
        line for site in body["sites"] for line in site["lines"] if line["kind"] == "prior_period_adjustment"
    ]
    assert adjustments, "the late January usage must show as an adjustment on March"
    assert issued.reads == 2


async def test_an_issued_invoice_alone_is_noticed(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 3, 10, tzinfo=UTC))
    usage.add("acme", "bos-02", "standard", "2026-02", "900")
    march = Period(2026, 3)
    await refresh(dashboard, store, "acme", march)
    reads = issued.reads
    json.loads(await dashboard.view("acme", march))
    assert issued.reads == reads  # nothing changed: the stored snapshot is shown
    await issue_through(contracts, usage, issued, "acme", Period(2026, 2))
    body = json.loads(await dashboard.view("acme", march))
    assert issued.reads == reads + 1
    assert shown(body) == await full_run(contracts, usage, issued, "acme", march)


async def test_a_configuration_change_is_noticed(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 4, 10, tzinfo=UTC))
    usage.add("acme", "nyc-01", "standard", "2026-03", "800")
    usage.add("acme", "nyc-01", "standard", "2026-04", "800")
    april = Period(2026, 4)
    before = await refresh(dashboard, store, "acme", april)
    changed = {
        **contract_data,
        "defaults": [
            {
                "effective_from": "2026-01-01",
                "rates": {"standard": "2.00", "expedited": "2.50", "review": "0.40", "storage": "0.10"},
            }
        ],
    }
    await contracts.put_contract("acme", changed, "contract.yaml", OPS)
    body = json.loads(await dashboard.view("acme", april))
    assert shown(body) == await full_run(contracts, usage, issued, "acme", april)
    assert body["total"] != before["total"]


async def test_usage_before_the_contract_start_is_reported_once(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 2, 10, tzinfo=UTC))
    usage.add("acme", "nyc-01", "standard", "2025-12", "40")
    usage.add("acme", "nyc-01", "standard", "2026-01", "10")
    usage.add("acme", "nyc-01", "standard", "2026-02", "20")
    for period in (Period(2026, 1), Period(2026, 2)):
        body = await refresh(dashboard, store, "acme", period)
        assert shown(body) == await full_run(contracts, usage, issued, "acme", period)
    january = json.loads(await dashboard.view("acme", Period(2026, 1)))
    february = json.loads(await dashboard.view("acme", Period(2026, 2)))
    assert [u["period"] for u in january["invoice"]["unbillable"]] == ["2025-12"]
    assert february["invoice"]["unbillable"] == []


async def test_an_error_in_an_earlier_period_is_shown_as_the_full_run_raises_it(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 4, 10, tzinfo=UTC))
    usage.add("acme", "nyc-01", "premium", "2026-02", "5")  # no rate for premium
    usage.add("acme", "nyc-01", "standard", "2026-04", "5")
    body = await refresh(dashboard, store, "acme", Period(2026, 4))
    assert body["error"]["period"] == "2026-02"
    assert shown(body) == await full_run(contracts, usage, issued, "acme", Period(2026, 4))


async def test_random_histories_equal_the_full_run(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    """Random usage (before the contract start too), issues and late usage in random order; each
    usage change refreshes its own period as the usage consumer would, any other period is only viewed
    or refreshed at random."""
    await onboard(contracts, contract_data, clock, datetime(2026, 12, 10, tzinfo=UTC))
    pick = random.Random(20261203)
    periods = [Period(2025, 11), Period(2025, 12)] + [Period(2026, m) for m in range(1, 13)]
    rated = [p for p in periods if p >= Period(2026, 1)]
    issued_through = 0
    for step in range(120):
        action = pick.random()
        if action < 0.7:
            period = pick.choice(periods)
            site, category = pick.choice(SITES), pick.choice(CATEGORIES)
            usage.add("acme", site, category, str(period), str(pick.randint(1, 900)))
            if period in rated:  # the notification the usage consumer acts on
                await refresh(dashboard, store, "acme", period)
        elif action < 0.8 and issued_through < 9:
            issued_through += 1
            await issue_through(contracts, usage, issued, "acme", rated[issued_through - 1])
        period = pick.choice(rated[issued_through:])
        body = (
            await refresh(dashboard, store, "acme", period)
            if pick.random() < 0.5
            else json.loads(await dashboard.view("acme", period))
        )
        assert shown(body) == await full_run(contracts, usage, issued, "acme", period), f"step {step}"


async def test_a_current_snapshot_is_answered_with_its_stored_text_and_a_stale_one_is_recomputed(
    contracts, contract_data, dashboard, store, usage, issued, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 3, 10, tzinfo=UTC))
    usage.add("acme", "bos-02", "standard", "2026-02", "3000")
    usage.add("acme", "bos-02", "standard", "2026-03", "1000")
    march = Period(2026, 3)
    await refresh(dashboard, store, "acme", march)
    stored = store.snapshots[("acme", "2026-03")]
    # The fake stores its text with sorted keys, which a computed body never has.
    stored_text = json.dumps(stored.body, sort_keys=True)
    assert stored_text != dashboard_body_json(stored.body)
    reads = usage.reads_before
    assert await dashboard.view("acme", march) == stored_text
    assert usage.reads_before == reads  # nothing was rated
    assert store.snapshots[("acme", "2026-03")] is stored

    usage.add("acme", "bos-02", "standard", "2026-02", "2500")  # late, past the annual cap
    text = await dashboard.view("acme", march)
    recomputed = store.snapshots[("acme", "2026-03")]
    assert recomputed is not stored
    assert text == dashboard_body_json(recomputed.body)
    assert shown(json.loads(text)) == await full_run(contracts, usage, issued, "acme", march)
    assert json.loads(text)["total"] != stored.body["total"]


async def test_a_figure_carries_the_time_it_was_computed_and_a_later_refresh_the_later_time(
    contracts, contract_data, dashboard, store, usage, clock
):
    await onboard(contracts, contract_data, clock, datetime(2026, 3, 10, 8, 15, 30, tzinfo=UTC))
    usage.add("acme", "nyc-01", "standard", "2026-03", "100")
    march = Period(2026, 3)
    body = await refresh(dashboard, store, "acme", march)
    assert body["computed_at"] == "2026-03-10T08:15:30+00:00"
    assert store.snapshots[("acme", "2026-03")].computed_at == datetime(2026, 3, 10, 8, 15, 30, tzinfo=UTC)
    clock.advance(timedelta(minutes=5))  # a view of the current snapshot shows when it was computed
    assert json.loads(await dashboard.view("acme", march))["computed_at"] == "2026-03-10T08:15:30+00:00"

    clock.set(datetime(2026, 3, 12, 17, 0, 1, 250000, tzinfo=UTC))
    usage.add("acme", "nyc-01", "standard", "2026-03", "20")
    body = await refresh(dashboard, store, "acme", march)
    assert body["computed_at"] == "2026-03-12T17:00:01.250000+00:00"
    assert json.loads(await dashboard.view("acme", march))["computed_at"] == body["computed_at"]

    clock.set(datetime(2026, 3, 13, 9, 0, tzinfo=UTC))
    usage.add("acme", "nyc-01", "standard", "2026-02", "5")  # late: the next view recomputes
    assert json.loads(await dashboard.view("acme", march))["computed_at"] == "2026-03-13T09:00:00+00:00"
    assert store.snapshots[("acme", "2026-03")].computed_at == datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
