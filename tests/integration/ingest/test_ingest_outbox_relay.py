"""The outbox relay on the real broker: rows go out and are deleted; an oversized one never blocks."""

from __future__ import annotations

import uuid
from typing import Any

from ingest_it_support import read_topic
from prometheus_client import CollectorRegistry
from sqlalchemy import text

from billing_runtime.db import create_engine
from ingest.metrics import IngestMetrics
from ingest.outbox_relay import TRUNCATED_BYTES, build_outbox_relay
from ingest.pg_ledger import encode_headers
from ingest.settings import IngestSettings


async def test_an_oversized_record_is_published_cut_short_and_the_rows_behind_it_still_go_out(
    ingest_settings: IngestSettings, producer: Any
) -> None:
    engine = create_engine(ingest_settings, "ingest")
    marker = uuid.uuid4().hex.encode()
    topic = ingest_settings.topic_name("usage.events.dlq.v1")
    rows = [(b"big", b"x" * 1_200_000), (b"small", b"fine")]
    try:
        async with engine.begin() as connection:
            for key, value in rows:
                await connection.execute(
                    text("INSERT INTO outbox (topic, key, value, headers) VALUES (:t, :k, :v, :h)"),
                    {"t": topic, "k": key, "v": value, "h": encode_headers([("x-test-case", marker)])},
                )
        relay = build_outbox_relay(engine, IngestMetrics(CollectorRegistry()), batch=100)
        while await relay.publish_once(producer):
            pass
        async with engine.connect() as connection:
            left = await connection.scalar(text("SELECT count(*) FROM outbox WHERE topic = :t"), {"t": topic})
        assert left == 0
    finally:
        await engine.dispose()
    published = await read_topic(
        ingest_settings, "usage.events.dlq.v1", lambda r: ("x-test-case", marker) in r.headers
    )
    by_key = {record.key: record for record in published}
    assert by_key[b"small"].value == b"fine"
    big = by_key[b"big"]
    assert big.value == b"x" * TRUNCATED_BYTES
    assert dict(big.headers)["dlq_value_truncated_from"] == b"1200000"
