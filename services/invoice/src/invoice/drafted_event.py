"""The invoice.drafted.v1 CloudEvent (schema: schemas/events/invoice.drafted.v1.json)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

SOURCE = "urn:billing:invoice"
DRAFTED_TYPE = "billing.invoice.drafted.v1"


def drafted_event(invoice: Mapping[str, Any], drafted_at: datetime) -> dict[str, Any]:
    """Identifies the draft and carries its per-site totals, which reconciliation compares."""
    sites = [{"site": site["site"], "total": site["total"]} for site in invoice["sites"]]
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": DRAFTED_TYPE,
        "subject": f"{invoice['tenant']}/{invoice['period']}",
        "time": drafted_at.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "tenant_id": invoice["tenant"],
            "period": invoice["period"],
            "number": invoice["number"],
            "currency": invoice["currency"],
            "total": invoice["total"],
            "sites": sites,
            "checksum": invoice["verification"]["checksum"],
        },
    }
