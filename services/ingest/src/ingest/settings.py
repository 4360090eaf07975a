"""Ingest settings: the shared BILLING_* settings plus the ingest pipeline's own knobs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from billing_runtime.settings import ServiceSettings

SERVICE = "ingest"


class IngestSettings(ServiceSettings):
    http_port: int = Field(default=8101, ge=1, le=65535)
    ingest_classification_rules: Path | None = None
    """BILLING_INGEST_CLASSIFICATION_RULES: YAML/JSON rules file (absent: data.category)."""
    ingest_tenant_timezones: dict[str, str] = Field(default_factory=dict)
    """BILLING_INGEST_TENANT_TIMEZONES: JSON object tenant → IANA zone, only for tenants whose contract
    (billing.config.changed.v1) has not been seen yet; the contract's zone replaces it."""
    ingest_default_timezone: str = "UTC"
    ingest_consume: bool = True
    """Run the Kafka consumer in this process (false: HTTP intake and reads only)."""
    ingest_consumer_group: str = "ingest"
    ingest_zone_consumer_group: str = "ingest-zones"
    """Group of the billing.config.changed.v1 consumer (tenants' contract zones); runs with ingest_consume."""
    ingest_batch_max_records: int = Field(default=10_000, ge=1, le=100_000)
    ingest_fetch_max_wait_ms: int = Field(default=200, ge=1, le=10_000)
    ingest_heartbeat_interval_ms: int = Field(default=300, ge=100, le=3_000)
    """How often the consumer tells the group it is alive; also how soon it learns that another
    replica joined or left, and so how long the group waits for it before sharing the partitions
    anew (the client's default of 3 s stalled every start of a second replica by up to 3 s)."""
    ingest_max_event_bytes: int = Field(default=256 * 1024, ge=1024)
    """Larger events are refused (too_large) rather than stored."""
    ingest_max_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    ingest_outbox_batch: int = Field(default=500, ge=1, le=10_000)
    ingest_shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    """How long the batch in hand may take to finish at shutdown, and the longest a rebalance waits
    for the batch being written before the partitions go back to the group."""
