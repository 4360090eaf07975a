"""A rating app on the real PostgreSQL of this test run (ingest, invoice and rating schemas migrated).

Background loops (consumer, scheduler, outbox) are off here: tests drive the API and the
services directly, with a clock they set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from fastapi import FastAPI
from rating_it_support import EXAMPLE_EVENTS

from billing_core import aggregate_events
from billing_io.events_jsonl import iter_events
from billing_runtime.db import create_engine
from rating.bootstrap import create_app
from rating.clock import FixedClock
from rating.settings import RatingSettings


@pytest.fixture(scope="session")
def rating_settings(settings_factory: Callable[..., Any], schema_prefix: str) -> RatingSettings:
    settings: RatingSettings = settings_factory(
        RatingSettings,
        schema_prefix=schema_prefix,
        rating_run_consumer=False,
        rating_run_scheduler=False,
        rating_run_outbox=False,
    )
    return settings


@pytest_asyncio.fixture(scope="session")
async def migrated(migrate: Callable[[str], Any]) -> None:
    for service in ("ingest", "invoice", "rating"):  # rating reads ingest's aggregates, invoice's ledger
        await migrate(service)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 20, 9, 30, tzinfo=UTC))


@pytest_asyncio.fixture
async def app(migrated: None, rating_settings: RatingSettings, clock: FixedClock) -> AsyncIterator[FastAPI]:
    application = create_app(rating_settings, clock)
    yield application
    await application.state.parts.engine.dispose()


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://rating") as http:
        yield http


@pytest_asyncio.fixture
async def load_example_usage(migrated: None, rating_settings: RatingSettings) -> Callable[[str], Any]:
    """Write the example events' aggregates into ingest's table, as ingest would hold them."""

    async def load(tenant: str) -> dict[str, Decimal]:
        aggregates = aggregate_events(iter_events(EXAMPLE_EVENTS), "UTC", tenant="acme")
        engine = create_engine(rating_settings, "ingest", pool_size=1, max_overflow=0)
        rows = [
            {
                "tenant_id": tenant,
                "period": str(period),
                "site_id": agg.site,
                "category": agg.category,
                "quantity": agg.quantity,
                "events": agg.events,
            }
            for period, by_key in aggregates.items()
            for agg in by_key.values()
        ]
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    sa.text(
                        "INSERT INTO usage_aggregates (tenant_id, period, site_id, category, quantity, "
                        "events, last_change) VALUES (:tenant_id, :period, :site_id, :category, :quantity, "
                        ":events, nextval('aggregate_changes'))"
                    ),
                    rows,
                )
        finally:
            await engine.dispose()
        return {
            str(p): sum((a.quantity for a in by_key.values()), Decimal(0)) for p, by_key in aggregates.items()
        }

    return load
