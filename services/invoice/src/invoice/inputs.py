"""What invoicing reads from the other services: the frozen configuration and the usage aggregates.

Both live in the shared database, in the rating and ingest schemas; the invoice service
only reads them, inside its own transaction, so an invoice is rated from one consistent view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from billing_core import UsageByPeriod


class PeriodNotClosedError(LookupError):
    """Invoicing was asked for a period that rating has not closed (no frozen configuration)."""


class UnusableClosedPeriodError(ValueError):
    """What was stored for a closed period cannot be invoiced as it is (e.g. a malformed frozen
    configuration or usage at the close that cannot be reconstructed); retrying will not help."""


class InvoiceInputs(Protocol):
    async def frozen_contract(self, conn: AsyncConnection, tenant_id: str, period: str) -> Mapping[str, Any]:
        """The contract document frozen when ``period`` was closed; PeriodNotClosedError if it was not."""
        ...

    async def usage(
        self, conn: AsyncConnection, tenant_id: str, *, closed: str | None = None
    ) -> UsageByPeriod:
        """The tenant's de-duplicated usage aggregates of every period stored so far; with ``closed``,
        that period's own usage as it stood at its close (what arrived later is left to the next
        invoice's prior-period adjustments)."""
        ...
