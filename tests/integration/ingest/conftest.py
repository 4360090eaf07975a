"""Fixtures for the ingest integration tests: migrated schema, settings, a running service."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from billing_runtime.kafka import create_producer
from ingest.bootstrap import create_app
from ingest.settings import IngestSettings


@pytest_asyncio.fixture(scope="session")
async def ingest_settings(
    settings_factory: Callable[..., Any], catalogue_topics: tuple[str, ...], migrate: Callable[[str], Any]
) -> IngestSettings:
    await migrate("ingest")
    settings: IngestSettings = settings_factory(IngestSettings, ingest_fetch_max_wait_ms=100)
    return settings


@dataclass
class RunningIngest:
    app: FastAPI
    client: httpx.AsyncClient
    settings: IngestSettings

    async def usage(self, tenant: str, period: str) -> dict[str, Any]:
        response = await self.client.get("/v1/usage", params={"tenant": tenant, "period": period})
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body

    async def wait_for_events(
        self, tenant: str, period: str, expected: int, timeout: float = 90
    ) -> dict[str, Any]:
        """Poll GET /v1/usage until the tenant-period counts ``expected`` events (fails on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            usage = await self.usage(tenant, period)
            counted = sum(line["events"] for line in usage["sites"])
            if counted >= expected or time.monotonic() > deadline:
                return usage
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def running_ingest(settings: IngestSettings) -> AsyncIterator[RunningIngest]:
    """The real app with its lifespan (consumer, relay) and an in-process HTTP client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            yield RunningIngest(app, client, settings)


@pytest_asyncio.fixture
async def producer(ingest_settings: IngestSettings) -> AsyncIterator[Any]:
    kafka = create_producer(
        ingest_settings, client_id="ingest-tests", max_batch_size=512 * 1024, max_request_size=2 * 1024 * 1024
    )
    await kafka.start()
    yield kafka
    await kafka.stop()


def unique_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:10]}"
