"""The topic catalogue shipped with billing_runtime (schemas/topics.yaml)."""

from __future__ import annotations

import pytest

from billing_runtime.topics import CatalogueError, catalogue_topic, load_catalogue, parse_catalogue

EXPECTED = {
    "usage.events.v1",
    "usage.events.dlq.v1",
    "usage.aggregated.v1",
    "billing.config.changed.v1",
    "billing.period.closed.v1",
    "invoice.drafted.v1",
    "invoice.reconciled.v1",
}


def test_catalogue_lists_the_platform_topics() -> None:
    assert {spec.name for spec in load_catalogue()} == EXPECTED


def test_usage_events_are_keyed_by_site_over_twelve_partitions() -> None:
    usage = catalogue_topic("usage.events.v1")
    assert usage.partitions == 12
    assert usage.key == "tenant_id/site_id"
    assert usage.retention_ms == 7 * 24 * 3_600_000
    assert "ai.platform.unit.processed.v1" in usage.types
    assert usage.kafka_config() == {"retention.ms": str(7 * 24 * 3_600_000), "cleanup.policy": "delete"}


def test_unknown_topic_is_a_clear_error() -> None:
    with pytest.raises(KeyError, match="not in the catalogue"):
        catalogue_topic("usage.events.v2")


VALID = "topics:\n  - {name: a, partitions: 3, key: k, retention: 12h, cleanup: delete, types: [t]}\n"


def test_hours_retention() -> None:
    assert parse_catalogue(VALID, "x.yaml")[0].retention_ms == 12 * 3_600_000


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope: 1", "x.yaml: expected a top-level 'topics' list"),
        ("topics:\n  - {name: a}\n", "x.yaml: topics\\[0\\]: missing cleanup, key, partitions"),
        (VALID.replace("partitions: 3", "partitions: 0"), "topics\\[0\\]: partitions must be a positive"),
        (VALID.replace("12h", "1w"), "topics\\[0\\]: retention '1w'"),
        (VALID.replace("delete", "archive"), "cleanup must be"),
        (VALID.replace("[t]", "[]"), "types must be a non-empty list"),
        (VALID + VALID.removeprefix("topics:\n"), "duplicate topic names \\['a'\\]"),
    ],
)
def test_malformed_catalogue_names_file_and_entry(text: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        parse_catalogue(text, "x.yaml")
