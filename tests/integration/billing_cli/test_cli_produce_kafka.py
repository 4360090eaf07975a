"""`billing produce` puts every line on the real broker: structured CloudEvents keyed tenant/site."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable
from pathlib import Path

from billing_cli.main import main
from billing_runtime.cloudevents_codec import decode_record
from billing_runtime.kafka import create_consumer
from billing_runtime.settings import ServiceSettings


def _event(number: int, site: str, quantity: object) -> dict[str, object]:
    return {
        "specversion": "1.0",
        "id": f"e-{number}",
        "source": "urn:platform:us:pipeline-1",
        "type": "ai.platform.unit.processed.v1",
        "time": f"2026-03-{number:02d}T10:22:31.482Z",
        "datacontenttype": "application/json",
        "data": {"tenant_id": "acme", "site_id": site, "category": "standard", "quantity": quantity},
    }


async def test_file_goes_to_the_usage_topic(
    tmp_path: Path, exclusive_topic_prefix: str, settings_factory: Callable[..., ServiceSettings]
) -> None:
    events = [_event(1, "nyc-01", 10), _event(2, "bos-02", 1.25), _event(3, "nyc-01", "0.000001")]
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    settings = settings_factory(topic_prefix=exclusive_topic_prefix)
    out, err = io.StringIO(), io.StringIO()
    argv = ["produce", "--events", str(path), "--bootstrap", settings.kafka_bootstrap]
    argv += ["--topic-prefix", exclusive_topic_prefix]
    code = await asyncio.to_thread(main, argv, out, err)
    assert code == 0, err.getvalue()
    topic = settings.topic_name("usage.events.v1")
    assert out.getvalue() == f"{path}: 3 events sent to {topic} at {settings.kafka_bootstrap}\n"

    consumer = create_consumer(settings, "usage.events.v1", group="produce-check", client_id="produce-check")
    await consumer.start()
    try:
        records = []
        for _ in range(50):
            batches = await consumer.getmany(timeout_ms=200)
            records += [record for batch in batches.values() for record in batch]
            if len(records) >= 3:
                break
    finally:
        await consumer.stop()
    by_id = {decode_record(record).get_id(): record for record in records}
    assert sorted(by_id) == ["e-1", "e-2", "e-3"]
    # A JSON number with a fraction is read as an exact Decimal and written as a string.
    expected = {"e-1": ("nyc-01", 10), "e-2": ("bos-02", "1.25"), "e-3": ("nyc-01", "0.000001")}
    for event_id, (site, quantity) in expected.items():
        record = by_id[event_id]
        assert record.key == f"acme/{site}".encode()
        assert dict(record.headers)["content-type"] == b"application/cloudevents+json"
        event = decode_record(record)
        data = event.get_data()
        assert isinstance(data, dict) and data["quantity"] == quantity and data["site_id"] == site
        assert str(event.get_time()) == f"2026-03-0{event_id[-1]} 10:22:31.482000+00:00"
