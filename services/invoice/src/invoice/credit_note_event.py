"""The billing.credit_note.issued.v1 CloudEvent (schema: schemas/events/credit_note.issued.v1.json).

It travels on the invoice service's topic (invoice.drafted.v1) next to the drafts; consumers
tell the two apart by the CloudEvents type.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from invoice.drafted_event import SOURCE

CREDIT_NOTE_TOPIC = "invoice.drafted.v1"
CREDIT_NOTE_ISSUED_TYPE = "billing.credit_note.issued.v1"


def credit_note_issued_event(note: Mapping[str, Any], actor: str, issued_at: datetime) -> dict[str, Any]:
    """Identifies the credit note, the invoice it corrects and who asked, with its per-site totals."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": CREDIT_NOTE_ISSUED_TYPE,
        "subject": f"{note['tenant']}/{note['period']}",
        "time": issued_at.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "tenant_id": note["tenant"],
            "period": note["period"],
            "number": note["number"],
            "invoice_number": note["references"],
            "currency": note["currency"],
            "total": note["total"],
            "reason": note["reason"],
            "actor": actor,
            "sites": [{"site": site["site"], "total": site["total"]} for site in note["sites"]],
            "checksum": note["verification"]["checksum"],
        },
    }
