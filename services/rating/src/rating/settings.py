"""Rating service settings (``BILLING_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from billing_runtime.settings import ServiceSettings


class RatingSettings(ServiceSettings):
    http_port: int = Field(default=8102, ge=1, le=65535)
    rating_consumer_group: str = "rating-dashboard"
    rating_coalesce_seconds: float = Field(default=0.15, gt=0, le=5)
    """A tenant-period is recomputed at most once per this interval however many updates arrive."""
    rating_scheduler_interval_seconds: float = Field(default=60.0, gt=0)
    rating_outbox_interval_seconds: float = Field(default=0.2, gt=0)
    rating_run_consumer: bool = True
    rating_run_scheduler: bool = True
    rating_run_outbox: bool = True
