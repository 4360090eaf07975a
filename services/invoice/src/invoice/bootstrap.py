"""Composition root of the invoice service: the one place that builds engines, clients and the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from fastapi import FastAPI

from billing_runtime.app import create_service_app, database_check, kafka_check
from billing_runtime.db import create_engine
from billing_runtime.kafka import create_consumer, create_producer
from invoice.api import invoice_router
from invoice.clock import utc_now
from invoice.closed_periods_consumer import PERIOD_CLOSED_TOPIC, ClosedPeriodsConsumer
from invoice.credit_note_api import credit_note_router
from invoice.crediting import CreditNoteIssuer
from invoice.failures import FailureLog
from invoice.issuing import InvoiceIssuer
from invoice.metrics import InvoiceMetrics
from invoice.outbox_relay import build_outbox_relay
from invoice.pg_inputs import PostgresInvoiceInputs
from invoice.settings import InvoiceSettings

logger = logging.getLogger(__name__)


def create_app(
    settings: InvoiceSettings | None = None, *, clock: Callable[[], datetime] = utc_now
) -> FastAPI:
    settings = settings or InvoiceSettings()
    engine = create_engine(settings, "invoice")

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        producer = create_producer(settings, client_id="billing-invoice")
        consumer = create_consumer(
            settings, PERIOD_CLOSED_TOPIC, group="invoice", client_id="billing-invoice"
        )
        await producer.start()
        await consumer.start()
        await failures.refresh()
        stopping = asyncio.Event()
        relay = build_outbox_relay(engine, settings.topic_name, clock, idle_seconds=settings.poll_seconds)
        tasks = [
            asyncio.create_task(
                ClosedPeriodsConsumer(consumer, issuer, failures).run(stopping), name="closed-periods"
            ),
            asyncio.create_task(relay.run(producer, stopping), name="invoice-outbox"),
        ]
        try:
            yield
        finally:
            stopping.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await consumer.stop()
            await producer.stop()
            await engine.dispose()

    app = create_service_app(
        settings, name="invoice", checks=[database_check(engine), kafka_check(settings)], lifespan=lifespan
    )
    failures = FailureLog(engine, clock, InvoiceMetrics(app.state.metrics))
    issuer = InvoiceIssuer(engine, settings, PostgresInvoiceInputs(settings), clock, failures)
    app.include_router(invoice_router(engine, issuer, failures))
    app.include_router(credit_note_router(engine, CreditNoteIssuer(engine, settings, clock)))
    return app
