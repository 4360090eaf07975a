"""A closed period's dashboard figures equal the offline `billing run` for the same contract and
events (aggregates loaded directly into ingest's table)."""

from __future__ import annotations

from datetime import UTC, datetime

from rating_it_support import EXAMPLE_CONTRACT, billing_run, contract_yaml

YAML = {"content-type": "application/yaml", "x-actor": "ops"}


def _comparable(invoice: dict) -> dict:
    body = {key: value for key, value in invoice.items() if key not in ("number", "status")}
    body["verification"] = {k: v for k, v in invoice["verification"].items() if k != "checksum"}
    return body


async def test_closed_period_dashboard_equals_billing_run(client, clock, load_example_usage, tmp_path):
    offline_invoices = billing_run(EXAMPLE_CONTRACT, tmp_path / "out")
    assert (
        await client.put("/v1/contracts/t_dash", content=contract_yaml("t_dash"), headers=YAML)
    ).status_code == 201
    await load_example_usage("t_dash")
    clock.set(datetime(2027, 1, 5, tzinfo=UTC))
    for month in range(1, 13):  # periods close in order from the contract start
        closed = await client.post(f"/v1/periods/t_dash/2026-{month:02d}/close")
        assert closed.status_code == 201, closed.text
        assert closed.json()["high_water"]["event_count"] > 0
    for period in ("2026-03", "2026-07", "2026-12"):
        board = (await client.get("/v1/dashboard", params={"tenant": "t_dash", "period": period})).json()
        assert board["status"] == "closed"
        offline = offline_invoices[period]
        ours = _comparable(board["invoice"])
        ours["tenant"] = "acme"
        assert ours == _comparable(offline), period
        for site, offline_site in zip(board["sites"], offline["sites"], strict=True):
            assert site["lines"] == offline_site["lines"]
            assert site["billed_to_date"] == offline_site["billed_to_date"]
            assert site["cap_remaining"] == offline_site["cap_remaining"]
