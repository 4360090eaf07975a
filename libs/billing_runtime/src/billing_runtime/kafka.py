"""aiokafka producer, consumer and admin factories configured from settings.

Consumers never auto-commit: a service commits an offset only after the work for that record is
committed in PostgreSQL, so a crash replays records instead of losing them.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from cloudevents.core.base import BaseCloudEvent

from billing_runtime.cloudevents_codec import ContentMode, encode_event, record_headers
from billing_runtime.settings import ServiceSettings


def create_producer(settings: ServiceSettings, *, client_id: str, **overrides: Any) -> AIOKafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (not started)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": client_id,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def consumer_group(settings: ServiceSettings, group: str) -> str:
    """Group ids carry the topic prefix so parallel test runs never share offsets."""
    return f"{settings.topic_prefix}{group}"


def create_consumer(
    settings: ServiceSettings,
    *topics: str,
    group: str,
    client_id: str,
    **overrides: Any,
) -> AIOKafkaConsumer:
    """A consumer of catalogue topics ``topics`` (names without prefix) with manual commits (not started)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": consumer_group(settings, group),
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
    }
    options.update(overrides)
    if options["enable_auto_commit"]:
        raise ValueError("consumers must commit offsets explicitly, after their work is committed")
    return AIOKafkaConsumer(*(settings.topic_name(topic) for topic in topics), **options)


def create_admin(settings: ServiceSettings, *, client_id: str = "billing-admin") -> AIOKafkaAdminClient:
    """An admin client (not started)."""
    return AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id=client_id)


async def send_event(
    producer: AIOKafkaProducer,
    topic: str,
    event: BaseCloudEvent,
    *,
    key: str | None,
    mode: ContentMode = ContentMode.STRUCTURED,
) -> Any:
    """Send one CloudEvent to the (already prefixed) ``topic`` and wait for the broker's ack."""
    message = encode_event(event, mode=mode, key=key)
    raw_key = message.key.encode("utf-8") if isinstance(message.key, str) else message.key
    headers = record_headers(message)
    return await producer.send_and_wait(topic, value=message.value, key=raw_key, headers=headers)
