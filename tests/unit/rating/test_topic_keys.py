"""The message keys rating reads and writes are the keys the topic catalogue states."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from billing_core import Period
from billing_runtime.topics import catalogue_topic
from ingest.aggregation import AggregateTotal
from ingest.outbox_messages import aggregated_notifications
from rating.contracts import Author


def test_usage_aggregated_is_keyed_by_tenant_as_ingest_publishes_it() -> None:
    totals = [
        AggregateTotal("acme", "nyc-01", "standard", "2026-03", Decimal("3"), 3),
        AggregateTotal("acme", "bos-02", "standard", "2026-03", Decimal("2"), 2),
    ]
    (message,) = aggregated_notifications(totals, "usage.aggregated.v1", datetime(2026, 3, 5, tzinfo=UTC))
    # One notification covers every site of the tenant-period, so the key can only be the tenant.
    assert catalogue_topic("usage.aggregated.v1").key == "tenant_id"
    assert message.key == b"acme"


async def test_rating_events_are_keyed_by_tenant_as_the_catalogue_states(
    store, clock, closer, contracts, contract_data
) -> None:
    await contracts.put_contract("acme", contract_data, "contract.yaml", Author("ops", "keys"))
    clock.set(datetime(2026, 2, 2, tzinfo=UTC))
    await closer.close("acme", Period(2026, 1), actor="ops")
    assert {m.topic for m in store.outbox} == {"billing.config.changed.v1", "billing.period.closed.v1"}
    for message in store.outbox:
        assert catalogue_topic(message.topic).key == "tenant_id"
        assert message.key == "acme"
