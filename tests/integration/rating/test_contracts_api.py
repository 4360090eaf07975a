"""The contracts API on real PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import yaml
from rating_it_support import billing_run, contract_yaml

YAML = {"content-type": "application/yaml", "x-actor": "alice@acme", "x-change-reason": "onboarding"}


async def test_onboard_change_history_and_refusals(client):
    created = await client.put("/v1/contracts/t_hist", content=contract_yaml("t_hist"), headers=YAML)
    assert created.status_code == 201, created.text
    assert created.json()["revision"] == 1

    added = await client.post(
        "/v1/contracts/t_hist/sites/nyc-01/pricing",
        json={"rates": {"standard": "1.35"}, "reason": "price rise"},
        headers={"x-actor": "bob"},
    )
    assert added.status_code == 201, added.text
    assert added.json()["effective_from"] == "2026-04-01"

    refused = await client.post(
        "/v1/contracts/t_hist/sites/nyc-01/pricing",
        json={"effective_from": "2026-03-01", "rates": {"standard": "1.40"}},
    )
    assert refused.status_code == 409
    assert refused.json()["period"] == "2026-03"
    assert "current period 2026-03" in refused.json()["message"]

    march = (await client.get("/v1/contracts/t_hist", params={"period": "2026-03"})).json()
    april = (await client.get("/v1/contracts/t_hist", params={"period": "2026-04"})).json()
    rate = {
        p["period"]: s["terms"]["rates"]["standard"]
        for p in (march, april)
        for s in p["sites"]
        if s["site"] == "nyc-01"
    }
    assert rate == {"2026-03": "1.20", "2026-04": "1.35"}

    history = (await client.get("/v1/contracts/t_hist/history")).json()["revisions"]
    assert [(h["revision"], h["actor"], h["reason"]) for h in history] == [
        (1, "alice@acme", "onboarding"),
        (2, "bob", "price rise"),
    ]
    assert history[1]["changes"] == [
        {
            "path": "sites[nyc-01].pricing[2026-04-01]",
            "change": "added",
            "after": {"effective_from": "2026-04-01", "rates": {"standard": "1.35"}},
        }
    ]

    assert history[1]["effect"] == [
        {"path": "rates.standard", "change": "changed", "before": "1.10", "after": "1.35"}
    ]

    bad = await client.put("/v1/contracts/t_hist", content="tenant: [unclosed", headers=YAML)
    assert bad.status_code == 422
    assert bad.json()["line"] == 1


async def test_concurrent_changes_to_one_site_are_never_lost(client):
    assert (
        await client.put("/v1/contracts/t_conc", content=contract_yaml("t_conc"), headers=YAML)
    ).status_code == 201
    changes = [
        {"effective_from": f"2026-{month:02d}-01", "rates": {category: f"{month}.{index}"}}
        for month in range(4, 10)
        for index, category in enumerate(["standard", "expedited", "storage"])
    ]
    responses = await asyncio.gather(
        *(client.post("/v1/contracts/t_conc/sites/bos-02/pricing", json=change) for change in changes)
    )
    assert [r.status_code for r in responses] == [201] * len(changes), [r.text for r in responses]
    assert sorted(r.json()["revision"] for r in responses) == list(range(2, 2 + len(changes)))
    for month in range(4, 10):
        terms = next(
            s["terms"]
            for s in (
                await client.get("/v1/contracts/t_conc", params={"period": f"2026-{month:02d}"})
            ).json()["sites"]
            if s["site"] == "bos-02"
        )
        assert [terms["rates"][c] for c in ["standard", "expedited", "storage"]] == [
            f"{month}.0",
            f"{month}.1",
            f"{month}.2",
        ]
    history = (await client.get("/v1/contracts/t_conc/history")).json()["revisions"]
    assert len(history) == 1 + len(changes)


async def test_invoiced_period_refuses_changes_and_is_frozen(client, clock):
    assert (
        await client.put("/v1/contracts/t_frz", content=contract_yaml("t_frz"), headers=YAML)
    ).status_code == 201
    early = await client.post("/v1/periods/t_frz/2026-03/close")
    assert early.status_code == 409 and "not ended" in early.json()["message"]
    skipping = await client.post("/v1/periods/t_frz/2026-02/close")
    assert skipping.status_code == 409, skipping.text
    assert skipping.json()["error"] == "earlier_period_open"
    assert (skipping.json()["period"], skipping.json()["open_period"]) == ("2026-02", "2026-01")
    assert (await client.post("/v1/periods/t_frz/2026-01/close")).status_code == 201
    closed = await client.post("/v1/periods/t_frz/2026-02/close", headers={"x-actor": "finance"})
    assert closed.status_code == 201, closed.text
    assert closed.json()["closed_by"] == "finance"
    again = await client.post("/v1/periods/t_frz/2026-02/close")
    assert again.status_code == 200 and again.json()["already_closed"] is True
    repriced = contract_yaml("t_frz").replace('standard: "1.20"', 'standard: "1.25"')
    refused = await client.put("/v1/contracts/t_frz", content=repriced, headers=YAML)
    assert refused.status_code == 409
    assert "2026-02" in refused.json()["message"]
    frozen = (await client.get("/v1/contracts/t_frz", params={"period": "2026-02"})).json()
    assert frozen["frozen"] is True


async def test_export_runs_through_billing_run_to_the_dashboard_totals(
    client, clock, load_example_usage, tmp_path
):
    assert (
        await client.put("/v1/contracts/t_exp", content=contract_yaml("t_exp"), headers=YAML)
    ).status_code == 201
    await client.post("/v1/contracts/t_exp/sites/chi-03/pricing", json={"rates": {"standard": "1.05"}})
    await load_example_usage("t_exp")
    exported = await client.get("/v1/contracts/t_exp/export")
    assert exported.status_code == 200
    contract_file = tmp_path / "exported.yaml"
    contract_file.write_text(exported.text.replace("tenant: t_exp", "tenant: acme"))
    offline_invoices = billing_run(contract_file, tmp_path / "out")
    for period in ("2026-03", "2026-04", "2026-12"):
        offline = offline_invoices[period]
        board = (await client.get("/v1/dashboard", params={"tenant": "t_exp", "period": period})).json()
        assert board["total"] == offline["total"], period
        assert [(s["site"], s["total"]) for s in board["sites"]] == [
            (s["site"], s["total"]) for s in offline["sites"]
        ]


async def test_contract_as_json_and_errors_that_name_the_path(client):
    document = yaml.safe_load(contract_yaml("t_json"))
    text = json.dumps(document, default=str)
    created = await client.put(
        "/v1/contracts/t_json", content=text, headers={"content-type": "application/json"}
    )
    assert created.status_code == 201, created.text
    exported = await client.get("/v1/contracts/t_json/export")
    assert yaml.safe_load(exported.text)["sites"][0]["pricing"][0]["annual_cap"] == "60000.00"
    document["sites"][1]["pricing"][0]["effective_from"] = "2026-01-15"
    refused = await client.put(
        "/v1/contracts/t_json",
        content=json.dumps(document, default=str),
        headers={"content-type": "application/json"},
    )
    assert refused.status_code == 422
    assert any(issue["path"] == "sites[1].pricing[0].effective_from" for issue in refused.json()["issues"])
    unknown = await client.post("/v1/contracts/t_json/sites/nyc-01/pricing", json={"rate": {"standard": "1"}})
    assert unknown.status_code == 422 and unknown.json()["fields"] == ["rate"]
    missing = await client.get("/v1/contracts/nobody")
    assert missing.status_code == 404 and "nobody" in missing.json()["message"]
