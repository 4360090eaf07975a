"""Prometheus metrics of invoicing, registered on the registry the service app owns."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

FAILURE_KINDS = ("rating", "contract", "not_closed", "inputs", "event")


class InvoiceMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.failures_open = Gauge(
            "invoice_period_failures_open",
            "Closed periods (or unreadable close records) waiting for an invoice after a failure",
            registry=registry,
        )
        self.failures_recorded = Counter(
            "invoice_period_failures_recorded",
            "Failed invoicing attempts recorded, by kind of error",
            ["error"],
            registry=registry,
        )
        for kind in FAILURE_KINDS:
            self.failures_recorded.labels(error=kind)
