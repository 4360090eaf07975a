"""Rating service settings (``BILLING_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from billing_runtime.settings import ServiceSettings


class RatingSettings(ServiceSettings):
    http_port: int = Field(default=8102, ge=1, le=65535)
    rating_consumer_group: str = "rating-dashboard"
    rating_coalesce_seconds: float = Field(default=0.1, gt=0, le=5)
    """Flushes begin at least this far apart however many updates arrive (the first after a quiet
    spell at once); a flush that takes longer simply gathers more for the next one."""
    rating_scheduler_interval_seconds: float = Field(default=60.0, gt=0)
    rating_outbox_interval_seconds: float = Field(default=0.2, gt=0)
    rating_run_consumer: bool = True
    rating_run_scheduler: bool = True
    rating_run_outbox: bool = True
