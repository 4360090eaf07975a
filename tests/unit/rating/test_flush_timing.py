"""The usage consumer flushes the first notification after a quiet spell at once, and gathers the
ones that follow within the interval for the next flush (consumer driven by a scripted stand-in)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition

from billing_runtime.cloudevents_codec import ContentMode, encode_event, make_event, record_headers
from rating.contracts import Author
from rating.usage_consumer import UsageConsumer

TOPIC = "usage.aggregated.v1"


@dataclass
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def notification(tenant: str, period: str, offset: int) -> Record:
    event = make_event(
        type="billing.usage.aggregated.v1",
        source="urn:billing:ingest",
        data={"tenant": tenant, "period": period, "lines": []},
        id=f"n{offset}",
    )
    message = encode_event(event, mode=ContentMode.STRUCTURED, key=tenant)
    return Record(offset, 0, str(message.key).encode(), message.value, record_headers(message))


class ScriptedConsumer:
    """Answers each getmany with the next scripted step: records, or an action and nothing."""

    def __init__(self, steps: list[list[Record] | Callable[[], None]]) -> None:
        self._steps = steps
        self.commits: list[dict[TopicPartition, int]] = []

    def subscribe(self, topics: list[str], listener: Any) -> None:
        pass

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[Record]]:
        await asyncio.sleep(0)
        step = self._steps.pop(0)
        if callable(step):
            step()
            return {}
        return {TopicPartition(TOPIC, 0): step}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)


async def test_first_notification_is_flushed_at_once_and_later_ones_wait(
    contracts, contract_data, dashboard, store, usage
):
    await contracts.put_contract("acme", contract_data, "contract.yaml", Author("ops", "test"))
    usage.add("acme", "nyc-01", "standard", "2026-03", "10")
    stop = asyncio.Event()
    seen: list[dict[tuple[str, int], int]] = []
    consumer = ScriptedConsumer(
        [
            [notification("acme", "2026-03", 0)],
            lambda: seen.append(dict(store.offsets["g"])),
            [notification("acme", "2026-03", 1)],
            lambda: seen.append(dict(store.offsets["g"])),
            stop.set,
        ]
    )
    usage_consumer = UsageConsumer(
        consumer,  # type: ignore[arg-type]
        store,
        dashboard,
        group_id="g",
        topic=TOPIC,
        coalesce_seconds=60,
    )
    await asyncio.wait_for(usage_consumer.run(stop), 5)
    # Flushed with the first notification although the interval is a minute long ...
    assert seen[0] == {(TOPIC, 0): 1}
    assert ("acme", "2026-03") in store.snapshots
    # ... while the second, within the interval, waits for the next flush.
    assert seen[1] == {(TOPIC, 0): 1}
    assert usage_consumer.refresher.pending == {("acme", "2026-03")}
    assert consumer.commits == [{TopicPartition(TOPIC, 0): 1}]
