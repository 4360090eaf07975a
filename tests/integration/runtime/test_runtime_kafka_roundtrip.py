"""CloudEvents through the real broker, in both Kafka content modes, with exact decimals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from billing_runtime.cloudevents_codec import ContentMode, decode_record, make_event
from billing_runtime.kafka import create_producer, send_event
from billing_runtime.settings import ServiceSettings

USAGE = "usage.events.v1"


async def _read_back(settings: ServiceSettings, topic: str, partition: int, offset: int) -> ConsumerRecord:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        batch = await consumer.getmany(tp, timeout_ms=10_000, max_records=1)
        records = batch.get(tp, [])
        assert records, f"nothing read back from {topic}[{partition}]@{offset}"
        return records[0]
    finally:
        await consumer.stop()


async def _produce_raw(
    settings: ServiceSettings, topic: str, value: bytes, headers: list[tuple[str, bytes]]
) -> tuple[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value=value, key=b"acme/nyc-01", headers=headers)
        return meta.partition, meta.offset
    finally:
        await producer.stop()


@pytest.mark.parametrize("mode", [ContentMode.STRUCTURED, ContentMode.BINARY])
async def test_cloudevent_survives_the_broker(
    mode: ContentMode, settings_factory: Callable[..., ServiceSettings], catalogue_topics: tuple[str, ...]
) -> None:
    settings = settings_factory()
    topic = settings.topic_name(USAGE)
    assert topic in catalogue_topics
    event = make_event(
        type="ai.platform.unit.processed.v1",
        source="urn:platform:us:pipeline-7",
        id=f"evt-{mode}",
        time=datetime(2026, 3, 14, 10, 22, 31, 482000, tzinfo=UTC),
        subject="nyc-01",
        data={
            "tenant_id": "acme",
            "site_id": "nyc-01",
            "category": "standard",
            "quantity": Decimal("12.345678901234567890123"),
            "weights": [Decimal("0.1"), Decimal("0.2")],
        },
        extensions={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
    )
    producer = create_producer(settings, client_id="runtime-test")
    await producer.start()
    try:
        meta = await send_event(producer, topic, event, key="acme/nyc-01", mode=mode)
    finally:
        await producer.stop()

    record = await _read_back(settings, topic, meta.partition, meta.offset)
    headers = dict(record.headers)
    assert record.key == b"acme/nyc-01"
    if mode is ContentMode.STRUCTURED:
        assert headers == {"content-type": b"application/cloudevents+json"}
    else:
        assert headers["ce_id"] == f"evt-{mode}".encode()
        assert headers["ce_time"] == b"2026-03-14T10:22:31.482000Z"
        assert headers["content-type"] == b"application/json"

    decoded = decode_record(record)
    assert decoded.get_attributes() == event.get_attributes()
    assert decoded.get_time() == datetime(2026, 3, 14, 10, 22, 31, 482000, tzinfo=UTC)
    data = decoded.get_data()
    assert isinstance(data, dict)
    assert Decimal(data["quantity"]) == Decimal("12.345678901234567890123")
    assert [Decimal(w) for w in data["weights"]] == [Decimal("0.1"), Decimal("0.2")]
    assert sum(Decimal(w) for w in data["weights"]) == Decimal("0.3")


@pytest.mark.parametrize("mode", [ContentMode.STRUCTURED, ContentMode.BINARY])
async def test_json_numbers_from_other_producers_decode_as_decimal(
    mode: ContentMode, settings_factory: Callable[..., ServiceSettings], catalogue_topics: tuple[str, ...]
) -> None:
    settings = settings_factory()
    topic = settings.topic_name(USAGE)
    data = b'{"tenant_id":"acme","site_id":"nyc-01","quantity":0.1000000000000000000001}'
    if mode is ContentMode.STRUCTURED:
        value = (
            b'{"specversion":"1.0","id":"raw-1","source":"urn:other","type":"ai.platform.unit.processed.v1",'
            b'"time":"2026-03-14T10:22:31Z","datacontenttype":"application/json","data":' + data + b"}"
        )
        headers = [("content-type", b"application/cloudevents+json")]
    else:
        value = data
        headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", b"raw-1"),
            ("ce_source", b"urn:other"),
            ("ce_type", b"ai.platform.unit.processed.v1"),
            ("ce_time", b"2026-03-14T10:22:31Z"),
            ("content-type", b"application/json"),
        ]
    partition, offset = await _produce_raw(settings, topic, value, headers)

    decoded = decode_record(await _read_back(settings, topic, partition, offset))
    assert decoded.get_id() == "raw-1"
    assert decoded.get_source() == "urn:other"
    payload = decoded.get_data()
    assert isinstance(payload, dict)
    assert payload["quantity"] == Decimal("0.1000000000000000000001")
    assert isinstance(payload["quantity"], Decimal)


async def test_exclusive_topics_start_empty_and_apart_from_the_run_topics(
    settings_factory: Callable[..., ServiceSettings], exclusive_topic_prefix: str, topic_prefix: str
) -> None:
    settings = settings_factory(topic_prefix=exclusive_topic_prefix)
    topic = settings.topic_name(USAGE)
    assert topic.startswith(topic_prefix) and topic != settings_factory().topic_name(USAGE)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(12)]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    assert len(ends) == 12
    assert sum(ends.values()) == 0
