"""The events rating publishes match their JSON Schemas in schemas/events/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema

from billing_core import Period
from rating.contracts import Author

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "events"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads((SCHEMAS / name).read_text()))


async def test_published_events_match_their_schemas(store, usage, clock, closer, contracts, contract_data):
    author = Author("ops", "schema check")
    await contracts.put_contract("acme", contract_data, "contract.yaml", author)
    await contracts.add_site_version("acme", "nyc-01", {"annual_cap": None}, author)
    await contracts.put_settings("acme", {"reconciliation_threshold": "0.01"}, author)
    usage.add("acme", "nyc-01", "standard", "2026-02", "5")
    clock.set(datetime(2026, 3, 5, tzinfo=UTC))
    await closer.close("acme", Period(2026, 1), actor="ops")
    await closer.close("acme", Period(2026, 2), actor="ops")
    changed = _validator("billing.config.changed.v1.json")
    closed = _validator("billing.period.closed.v1.json")
    kinds = []
    for message in store.outbox:
        event = json.loads(json.dumps(message.event))
        validator = changed if event["type"] == "billing.config.changed.v1" else closed
        validator.validate(event)
        kinds.append(event["data"].get("kind", event["type"]))
    closes = ["billing.period.closed.v1"] * 2
    assert kinds == ["contract_loaded", "site_pricing_added", "settings_changed", *closes]
