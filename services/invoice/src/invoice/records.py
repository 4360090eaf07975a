"""Plain records of stored invoices, independent of the storage used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class StoredInvoice:
    number: str
    kind: str
    tenant_id: str
    period: str
    status: str
    currency: str
    total: Decimal
    references_number: str | None
    issue_date: date
    due_date: date
    json_body: bytes
    json_sha256: str
    pdf_body: bytes | None
    pdf_sha256: str | None
    created_at: datetime
    issued_at: datetime | None

    def summary(self) -> dict[str, Any]:
        """The listing entry of the API: what identifies the document, not its content."""
        return {
            "number": self.number,
            "kind": self.kind,
            "tenant": self.tenant_id,
            "period": self.period,
            "status": self.status,
            "currency": self.currency,
            "total": str(self.total),
            "references": self.references_number,
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "json_sha256": self.json_sha256,
            "pdf_sha256": self.pdf_sha256,
        }
