"""Prometheus metrics of the ingest pipeline, registered on a registry the composition root owns."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ingest.rejections import Reason


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.consumed = Counter("ingest_events_consumed", "Events read, by path", ["path"], registry=registry)
        self.accepted = Counter(
            "ingest_events_accepted", "Events newly recorded in the usage ledger", ["path"], registry=registry
        )
        self.duplicates = Counter(
            "ingest_events_duplicate",
            "Events whose (source, id) was already recorded",
            ["path"],
            registry=registry,
        )
        self.rejected = Counter(
            "ingest_events_rejected", "Events refused, by reason", ["path", "reason"], registry=registry
        )
        self.batch_seconds = Histogram(
            "ingest_batch_seconds",
            "Time to check and commit one batch",
            ["path"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.batch_size = Histogram(
            "ingest_batch_events",
            "Events per committed batch",
            ["path"],
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000),
            registry=registry,
        )
        self.consumer_lag = Gauge(
            "ingest_consumer_lag",
            "Records behind the partition end",
            ["topic", "partition"],
            registry=registry,
        )
        self.outbox_published = Counter(
            "ingest_outbox_published", "Outbox records published to Kafka", ["topic"], registry=registry
        )
        for reason in Reason:
            for path in ("kafka", "http"):
                self.rejected.labels(path=path, reason=reason.value)

    def record_batch(
        self,
        path: str,
        *,
        consumed: int,
        accepted: int,
        duplicates: int,
        rejected: Mapping[Reason, int],
        seconds: float,
    ) -> None:
        self.consumed.labels(path=path).inc(consumed)
        self.accepted.labels(path=path).inc(accepted)
        self.duplicates.labels(path=path).inc(duplicates)
        for reason, count in rejected.items():
            self.rejected.labels(path=path, reason=reason.value).inc(count)
        self.batch_seconds.labels(path=path).observe(seconds)
        self.batch_size.labels(path=path).observe(consumed)
