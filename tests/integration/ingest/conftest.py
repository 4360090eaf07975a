"""Fixtures for the ingest integration tests: migrated schema, settings, a producer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest_asyncio

from billing_runtime.kafka import create_producer
from ingest.settings import IngestSettings


@pytest_asyncio.fixture(scope="session")
async def ingest_settings(
    settings_factory: Callable[..., Any], catalogue_topics: tuple[str, ...], migrate: Callable[[str], Any]
) -> IngestSettings:
    await migrate("ingest")
    settings: IngestSettings = settings_factory(IngestSettings, ingest_fetch_max_wait_ms=100)
    return settings


@pytest_asyncio.fixture
async def producer(ingest_settings: IngestSettings) -> AsyncIterator[Any]:
    kafka = create_producer(
        ingest_settings, client_id="ingest-tests", max_batch_size=512 * 1024, max_request_size=2 * 1024 * 1024
    )
    await kafka.start()
    yield kafka
    await kafka.stop()
