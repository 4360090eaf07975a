"""Invoice service settings (``BILLING_*`` variables) on top of the shared service settings."""

from __future__ import annotations

from pydantic import Field

from billing_runtime.settings import ServiceSettings


class InvoiceSettings(ServiceSettings):
    http_port: int = Field(default=8103, ge=1, le=65535)
    issuer_name: str = "Billing Platform Ltd"
    issuer_address: str = ""
    """Address lines separated by '|' as printed under the issuer name."""
    issuer_contact: str | None = None
    issuer_tax_id: str | None = None
    payment_days: int = Field(default=30, ge=0, le=365)
    poll_seconds: float = Field(default=0.5, gt=0, le=60)
    """How often the outbox publisher looks for unpublished events."""
