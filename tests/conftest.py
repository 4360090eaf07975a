"""Fixtures that hand tests a real Kafka and PostgreSQL, isolated per test run.

Where they come from, in order:

1. testcontainers (``postgres:15`` and a KRaft Kafka) when a Docker engine answers, unless
   ``BILLING_TEST_STACK=local``;
2. otherwise the stack ``make up`` started (``BILLING_DATABASE_URL`` / ``BILLING_KAFKA_BOOTSTRAP``, or
   ``.local/stack.env``, or the defaults);
3. otherwise the test fails, saying how to start them.

Every run gets its own ``run_id``; topics are ``test.<run_id>.<name>`` and schemas
``t_<run_id>_<service>``, so concurrent runs never meet, and both are removed when the session ends.
Tests that count messages on a topic take ``exclusive_topic_prefix`` (topics of their own).
Unit tests request none of these fixtures and never touch the services.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from sqlalchemy import text

from billing_runtime.db import create_engine, drop_schema
from billing_runtime.migrations import upgrade
from billing_runtime.readiness import NotReady, probe_kafka
from billing_runtime.settings import DEFAULT_DATABASE_URL, ServiceSettings
from billing_runtime.topics import delete_prefixed_topics, ensure_topics

REPO_ROOT = Path(__file__).resolve().parent.parent
SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = Path(str(item.fspath)).relative_to(REPO_ROOT).parts
        if len(parts) > 1 and parts[1] in ("integration", "e2e"):
            item.add_marker(getattr(pytest.mark, parts[1]))


@dataclass(frozen=True)
class StackEndpoints:
    database_url: str
    kafka_bootstrap: str
    origin: str


def _docker_reachable() -> bool:
    if os.environ.get("BILLING_TEST_STACK", "").lower() == "local":
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def _local_stack_env() -> dict[str, str]:
    values: dict[str, str] = {}
    env_file = REPO_ROOT / ".local" / "stack.env"
    if env_file.is_file():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.split("=", 1)
                values[key.strip()] = value.strip()
    for key in ("BILLING_DATABASE_URL", "BILLING_KAFKA_BOOTSTRAP"):
        if os.environ.get(key):
            values[key] = os.environ[key]
    return values


async def _check_local(endpoints: StackEndpoints) -> None:
    settings = ServiceSettings(database_url=endpoints.database_url, kafka_bootstrap=endpoints.kafka_bootstrap)
    engine = create_engine(settings, "public", pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), 5)
    except Exception as exc:
        raise NotReady(f"PostgreSQL at {engine.url.render_as_string(hide_password=True)}: {exc!r}") from exc
    finally:
        await engine.dispose()
    await probe_kafka(endpoints.kafka_bootstrap, timeout=5)


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per test session; names this run's topics, schemas and consumer groups."""
    return f"r{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def test_stack() -> Iterator[StackEndpoints]:
    if _docker_reachable():
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        # testcontainers-python's KafkaContainer starts the broker through the Confluent image's own
        # scripts (/etc/confluent/docker/configure and launch), so it cannot run apache/kafka; it keeps
        # the Confluent image it was written for (Kafka 3.6), while `make up` and compose run Apache
        # Kafka 4.4 (docs/operations.md, "Kafka versions").
        with (
            PostgresContainer("postgres:15", username="billing", password="billing", dbname="billing") as pg,
            KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka,
        ):
            yield StackEndpoints(
                database_url=pg.get_connection_url(driver="asyncpg"),
                kafka_bootstrap=kafka.get_bootstrap_server(),
                origin="testcontainers",
            )
        return
    values = _local_stack_env()
    endpoints = StackEndpoints(
        database_url=values.get("BILLING_DATABASE_URL", DEFAULT_DATABASE_URL),
        kafka_bootstrap=values.get("BILLING_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        origin="make up",
    )
    try:
        asyncio.run(_check_local(endpoints))
    except NotReady as exc:
        pytest.fail(
            "integration tests need Kafka and PostgreSQL: no Docker engine for testcontainers, and the "
            f"local stack does not answer ({exc}). Start it with `make up` (see `make status`).",
            pytrace=False,
        )
    yield endpoints


@pytest.fixture(scope="session")
def database_url(test_stack: StackEndpoints) -> str:
    return test_stack.database_url


@pytest.fixture(scope="session")
def kafka_bootstrap(test_stack: StackEndpoints) -> str:
    return test_stack.kafka_bootstrap


@pytest.fixture(scope="session")
def settings_factory(
    database_url: str, kafka_bootstrap: str, run_id: str
) -> Callable[..., ServiceSettings]:
    """``settings_factory(cls=ServiceSettings, **overrides)``: settings pointing at this run's stack."""

    def build(cls: type[SettingsT] = ServiceSettings, **overrides: Any) -> SettingsT:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": database_url,
            "kafka_bootstrap": kafka_bootstrap,
            "topic_prefix": f"test.{run_id}.",
            "schema_prefix": f"t_{run_id}_",
        }
        values.update(overrides)
        return cls(**values)

    return build


@pytest_asyncio.fixture(scope="session")
async def topic_prefix(settings_factory: Callable[..., ServiceSettings]) -> AsyncIterator[str]:
    """This run's topic prefix; every topic carrying it is deleted at the end of the session."""
    settings = settings_factory()
    yield settings.topic_prefix
    await delete_prefixed_topics(settings)


@pytest_asyncio.fixture(scope="session")
async def schema_prefix(settings_factory: Callable[..., ServiceSettings]) -> AsyncIterator[str]:
    """This run's schema prefix; every schema carrying it is dropped at the end of the session."""
    settings = settings_factory()
    yield settings.schema_prefix
    engine = create_engine(settings, "public", pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"),
                {"p": settings.schema_prefix},
            )
            schemas = [row[0] for row in rows]
        for schema in schemas:
            await drop_schema(engine, schema)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(scope="session")
async def catalogue_topics(
    topic_prefix: str, settings_factory: Callable[..., ServiceSettings]
) -> tuple[str, ...]:
    """Creates every catalogue topic under this run's prefix; returns the prefixed names."""
    settings = settings_factory(topic_prefix=topic_prefix)
    report = await ensure_topics(settings)
    return report.created + report.grown + report.unchanged


@pytest.fixture(scope="session")
def migrate(
    schema_prefix: str, settings_factory: Callable[..., ServiceSettings]
) -> Callable[[str], Any]:
    """``await migrate("ingest")``: run that service's Alembic migrations into this run's schema."""

    async def run(service: str) -> None:
        settings = settings_factory(schema_prefix=schema_prefix)
        await asyncio.to_thread(upgrade, REPO_ROOT / "services" / service, settings)

    return run


@pytest_asyncio.fixture
async def exclusive_topic_prefix(
    topic_prefix: str, settings_factory: Callable[..., ServiceSettings]
) -> str:
    """A topic prefix of this test alone, with every catalogue topic created under it.

    For tests that count what is on a topic: the run's shared topics also carry other tests'
    messages. The topics start with the run's prefix, so the session clean-up removes them.
    """
    prefix = f"{topic_prefix}{secrets.token_hex(3)}."
    await ensure_topics(settings_factory(topic_prefix=prefix))
    return prefix
