"""Fixtures of the invoice integration tests: this run's migrated schemas, an engine, an issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from invoice_it_support import clock
from sqlalchemy.ext.asyncio import AsyncEngine

from billing_runtime.db import create_engine
from invoice.issuing import InvoiceIssuer
from invoice.pg_inputs import PostgresInvoiceInputs
from invoice.settings import InvoiceSettings


@pytest_asyncio.fixture(scope="module")
async def settings(migrate: Callable[[str], Any], settings_factory: Callable[..., Any]) -> InvoiceSettings:
    for service in ("ingest", "rating", "invoice"):
        await migrate(service)
    result: InvoiceSettings = settings_factory(InvoiceSettings)
    return result


@pytest_asyncio.fixture
async def engine(settings: InvoiceSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, "invoice")
    yield engine
    await engine.dispose()


@pytest.fixture
def issuer(engine: AsyncEngine, settings: InvoiceSettings) -> InvoiceIssuer:
    return InvoiceIssuer(engine, settings, PostgresInvoiceInputs(settings), clock)
