"""Tenant settings and the what-if preview over HTTP, on real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from rating_it_support import contract_yaml

YAML = {"content-type": "application/yaml", "x-actor": "ops"}


async def test_settings_round_trip_and_refusals(client):
    assert (await client.get("/v1/tenants/t_set/settings")).status_code == 404
    assert (
        await client.put("/v1/contracts/t_set", content=contract_yaml("t_set"), headers=YAML)
    ).status_code == 201
    settings = (await client.get("/v1/tenants/t_set/settings")).json()
    assert {k: settings[k] for k in ("currency", "timezone", "grace_hours", "reconciliation_threshold")} == {
        "currency": "USD",
        "timezone": "UTC",
        "grace_hours": 72,
        "reconciliation_threshold": "0.00",
    }
    changed = await client.put(
        "/v1/tenants/t_set/settings",
        json={"grace_hours": 24, "reconciliation_threshold": "1.50"},
        headers={"x-actor": "finance", "x-change-reason": "faster close"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["grace_hours"], changed.json()["reconciliation_threshold"]) == (24, "1.50")
    refused = await client.put("/v1/tenants/t_set/settings", json={"timezone": "Europe/London"})
    assert refused.status_code == 422 and refused.json()["path"] == "timezone"
    history = (await client.get("/v1/contracts/t_set/history")).json()["revisions"]
    assert history[-1]["kind"] == "settings_changed"
    assert (history[-1]["actor"], history[-1]["reason"]) == ("finance", "faster close")
    assert {c["path"] for c in history[-1]["changes"]} == {"grace_hours", "reconciliation_threshold"}


async def test_preview_over_http_changes_nothing(client, clock, load_example_usage):
    assert (
        await client.put("/v1/contracts/t_prev", content=contract_yaml("t_prev"), headers=YAML)
    ).status_code == 201
    await load_example_usage("t_prev")
    clock.set(datetime(2026, 5, 10, tzinfo=UTC))
    for period in ("2026-01", "2026-02", "2026-03", "2026-04"):
        assert (await client.post(f"/v1/periods/t_prev/{period}/close")).status_code == 201
    same = await client.post(
        "/v1/contracts/t_prev/sites/den-05/pricing/preview",
        params={"periods": 2},
        json={"rates": {"storage": "0.08"}},
    )
    assert same.status_code == 200, same.text
    assert same.json()["periods"] == ["2026-03", "2026-04"]
    assert same.json()["total_difference"] == "0.00"
    dearer = await client.post(
        "/v1/contracts/t_prev/sites/den-05/pricing/preview",
        params={"periods": 2},
        json={"rates": {"storage": "0.16"}},
    )
    rows = {(r["site"], r["period"]): r for r in dearer.json()["rows"]}
    for period in ("2026-03", "2026-04"):
        row = rows[("den-05", period)]
        # den-05 has no minimum or cap: doubling the storage price doubles its storage charge,
        # so the proposed total exceeds the current one by exactly the current storage amount.
        board = (await client.get("/v1/dashboard", params={"tenant": "t_prev", "period": period})).json()
        storage = next(
            line["amount"]
            for site in board["sites"]
            if site["site"] == "den-05"
            for line in site["lines"]
            if line.get("category") == "storage"
        )
        assert row["difference"] == storage, period
        assert all(r["difference"] == "0.00" for key, r in rows.items() if key[0] != "den-05")
    assert len((await client.get("/v1/contracts/t_prev/history")).json()["revisions"]) == 1
