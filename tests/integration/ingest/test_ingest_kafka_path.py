"""The Kafka path on the real broker and database: dedup, both content modes, DLQ, notifications."""

from __future__ import annotations

import asyncio
import json
import random
from decimal import Decimal
from typing import Any

from ingest_it_support import as_table, expected_usage, read_topic, running_ingest, unique_tenant

from ingest.settings import IngestSettings
from ingest.traffic import (
    STRUCTURED_HEADERS,
    Message,
    binary_message,
    produce,
    structured_message,
    usage_cloudevent,
)

PERIOD = "2026-03"


def good_events(tenant: str, count: int) -> list[dict[str, Any]]:
    return [
        usage_cloudevent(
            f"{tenant}-{n}",
            tenant=tenant,
            site=f"s{n % 3}",
            category=("standard", "expedited")[n % 2],
            quantity=str(Decimal(n % 7 + 1) / 4),
            time=f"2026-03-{1 + n % 28:02d}T10:00:00.{n % 1000:03d}Z",
        )
        for n in range(count)
    ]


def marked(message: Message, marker: bytes) -> Message:
    return Message(message.key, message.value, (*message.headers, ("x-test-case", marker)))


async def test_duplicates_count_once_bad_records_go_to_the_dlq_and_neighbours_still_count(
    ingest_settings: IngestSettings, producer: Any
) -> None:
    tenant = unique_tenant()
    marker = tenant.encode()
    events = good_events(tenant, 400)
    rng = random.Random(7)
    duplicates = [rng.choice(events) for _ in range(40)]
    stream = [
        marked(structured_message(e) if i % 2 else binary_message(e), marker) for i, e in enumerate(events)
    ]
    resent = [
        marked(binary_message(e) if i % 2 else structured_message(e), marker)
        for i, e in enumerate(duplicates)
    ]
    no_id = {k: v for k, v in usage_cloudevent("x", tenant=tenant, site="s0").items() if k != "id"}
    no_time = {
        k: v for k, v in usage_cloudevent(f"{tenant}-nt", tenant=tenant, site="s0").items() if k != "time"
    }
    bad = {
        "not_json": marked(Message(b"k", b"{not json", STRUCTURED_HEADERS), marker),
        "missing_attribute:id": marked(structured_message(no_id), marker),
        "invalid_quantity:-2": marked(
            structured_message(usage_cloudevent(f"{tenant}-neg", tenant=tenant, site="s0", quantity="-2")),
            marker,
        ),
        "invalid_quantity:abc": marked(
            structured_message(usage_cloudevent(f"{tenant}-abc", tenant=tenant, site="s0", quantity="abc")),
            marker,
        ),
        "missing_attribute:time": marked(structured_message(no_time), marker),
        # PostgreSQL cannot store a NUL character: refused here, not retried for ever by the writer.
        "invalid_attribute:nul": marked(
            structured_message(usage_cloudevent(f"{tenant}-nul\x00", tenant=tenant, site="s0")), marker
        ),
    }
    mixed = stream[:200] + list(bad.values()) + resent + stream[200:]
    await produce(producer, ingest_settings.topic_name("usage.events.v1"), mixed)
    huge = usage_cloudevent(f"{tenant}-huge", tenant=tenant, site="s0")
    huge["data"]["padding"] = "x" * 1_000_000
    huge_message = marked(structured_message(huge), marker)
    await producer.send_and_wait(
        ingest_settings.topic_name("usage.events.v1"),
        huge_message.value,
        key=huge_message.key,
        headers=list(huge_message.headers),
    )
    await produce(
        producer,
        ingest_settings.topic_name("usage.events.v1"),
        [marked(structured_message(e), marker) for e in good_events(tenant, 410)[400:]],
    )
    everything = good_events(tenant, 410)

    async with running_ingest(ingest_settings) as ingest:
        usage = await ingest.wait_for_events(tenant, PERIOD, len(everything))
        assert as_table(usage) == expected_usage(everything)
        await asyncio.sleep(1)  # a late duplicate would show up now
        assert as_table(await ingest.usage(tenant, PERIOD)) == expected_usage(everything)

    dead = await read_topic(
        ingest_settings, "usage.events.dlq.v1", lambda r: ("x-test-case", marker) in r.headers
    )
    # Dead letters are published at least once (outbox relay): a record is identified by where it
    # came from, so a repeat publish is counted once.
    by_origin = {
        (dict(record.headers)["dlq_source_partition"], dict(record.headers)["dlq_source_offset"]): record
        for record in dead
    }
    reasons = sorted(dict(record.headers)["dlq_reason"].decode() for record in by_origin.values())
    assert reasons == sorted(
        [
            "not_json",
            "missing_attribute",
            "invalid_quantity",
            "invalid_quantity",
            "missing_attribute",
            "too_large",
            "invalid_attribute",
        ]
    )
    by_value = {record.value: dict(record.headers) for record in dead}
    for message in [*bad.values(), huge_message]:
        headers = by_value[message.value]  # the original bytes, unchanged
        assert headers["dlq_source_topic"] == ingest_settings.topic_name("usage.events.v1").encode()
        assert int(headers["dlq_source_offset"]) >= 0
        assert headers["dlq_detail"]
    assert b"quantity" in by_value[bad["invalid_quantity:abc"].value]["dlq_detail"]

    notes = await read_topic(ingest_settings, "usage.aggregated.v1", lambda r: r.key == tenant.encode())
    latest: dict[tuple[str, str], tuple[Decimal, int]] = {}
    for record in notes:
        data = json.loads(record.value)["data"]
        assert (data["tenant"], data["period"]) == (tenant, PERIOD)
        for line in data["lines"]:
            key = (line["site"], line["category"])
            if line["events"] >= latest.get(key, (Decimal(0), 0))[1]:
                latest[key] = (Decimal(line["quantity"]), line["events"])
    assert latest == expected_usage(everything)
