"""Usage notifications refresh the dashboard (offsets stored with the snapshot), and the outbox
reaches Kafka — on the real broker and database of this test run."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer
from rating_it_support import contract_yaml

from billing_runtime.cloudevents_codec import (
    ContentMode,
    decode_record,
    encode_event,
    make_event,
    record_headers,
)
from billing_runtime.kafka import consumer_group, create_consumer, create_producer
from rating.outbox_relay import build_outbox_relay
from rating.usage_consumer import UsageConsumer

YAML = {"content-type": "application/yaml", "x-actor": "ops"}


async def _notify(settings, tenant: str, period: str, count: int) -> None:
    producer = create_producer(settings, client_id="test-aggregated")
    await producer.start()
    try:
        for index in range(count):
            event = make_event(
                type="billing.usage.aggregated.v1",
                source="urn:billing:ingest",
                data={"tenant": tenant, "period": period, "lines": []},
                id=f"n{index}",
            )
            message = encode_event(event, mode=ContentMode.STRUCTURED, key=f"{tenant}/x")
            await producer.send_and_wait(
                settings.topic_name("usage.aggregated.v1"),
                value=message.value,
                key=str(message.key).encode(),
                headers=record_headers(message),
            )
    finally:
        await producer.stop()


async def test_notifications_refresh_dashboard_and_store_offsets(
    client, app, rating_settings, exclusive_topic_prefix, load_example_usage
):
    # This test counts the offsets it consumed: it needs topics no other test writes to.
    settings = rating_settings.model_copy(update={"topic_prefix": exclusive_topic_prefix})
    assert (
        await client.put("/v1/contracts/t_kafka", content=contract_yaml("t_kafka"), headers=YAML)
    ).status_code == 201
    await load_example_usage("t_kafka")
    parts = app.state.parts
    group = consumer_group(settings, "rating-test")
    consumer = create_consumer(settings, "usage.aggregated.v1", group="rating-test", client_id="rating-test")
    await consumer.start()
    usage_consumer = UsageConsumer(
        consumer,
        parts.store,
        parts.api.dashboard,
        group_id=group,
        topic=settings.topic_name("usage.aggregated.v1"),
        coalesce_seconds=0.1,
    )
    # a burst already waiting when the consumer starts
    await _notify(settings, "t_kafka", "2026-03", 25)
    await _notify(settings, "nobody", "2026-03", 1)  # no contract: skipped, offset still kept
    stop = asyncio.Event()
    task = asyncio.create_task(usage_consumer.run(stop))
    try:
        offsets: dict = {}
        for _ in range(100):
            offsets = await parts.store.consumer_offsets(group)
            if sum(offsets.values()) >= 26:
                break
            await asyncio.sleep(0.1)
        assert sum(offsets.values()) == 26
        snapshot = await parts.store.snapshot("t_kafka", "2026-03")
        assert snapshot is not None
        assert snapshot.body["high_water"]["event_count"] > 0
        # 25 notifications in a burst were coalesced into far fewer recomputations
        assert (
            snapshot.body["total"]
            == (await client.get("/v1/dashboard", params={"tenant": "t_kafka", "period": "2026-03"})).json()[
                "total"
            ]
        )
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await consumer.stop()


async def test_outbox_reaches_kafka_once_published(client, app, rating_settings, catalogue_topics):
    assert (
        await client.put("/v1/contracts/t_outbox", content=contract_yaml("t_outbox"), headers=YAML)
    ).status_code == 201
    await client.post("/v1/contracts/t_outbox/sites/nyc-01/pricing", json={"rates": {"standard": "1.30"}})
    parts = app.state.parts
    producer = create_producer(rating_settings, client_id="rating-outbox-test")
    await producer.start()
    try:
        relay = build_outbox_relay(parts.engine, rating_settings.topic_name)
        while await relay.publish_once(producer):
            pass
    finally:
        await producer.stop()
    async with parts.engine.connect() as conn:
        left = (
            await conn.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
        ).scalar_one()
    assert left == 0
    reader = AIOKafkaConsumer(
        rating_settings.topic_name("billing.config.changed.v1"),
        bootstrap_servers=rating_settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await reader.start()
    try:
        seen = []
        for _ in range(50):
            batch = await reader.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    event = decode_record(record)
                    data = event.get_data()
                    if data["tenant_id"] == "t_outbox":
                        seen.append((record.key.decode(), data["revision"], data["kind"]))
            if len(seen) >= 2:
                break
        assert seen == [("t_outbox", 1, "contract_loaded"), ("t_outbox", 2, "site_pricing_added")]
    finally:
        await reader.stop()
