"""CloudEvents the rating service publishes (through its outbox)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from rating.records import ClosedPeriod, ConfigRevision, OutboxMessage

SOURCE = "urn:billing:rating"
CONFIG_CHANGED_TYPE = "billing.config.changed.v1"
PERIOD_CLOSED_TYPE = "billing.period.closed.v1"
CONFIG_CHANGED_TOPIC = "billing.config.changed.v1"
PERIOD_CLOSED_TOPIC = "billing.period.closed.v1"


def _cloudevent(event_type: str, subject: str, time: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": event_type,
        "subject": subject,
        "time": time.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


def config_changed(revision: ConfigRevision) -> OutboxMessage:
    data: dict[str, Any] = {
        "tenant_id": revision.tenant_id,
        "revision": revision.revision,
        "kind": revision.kind,
        "actor": revision.actor,
        "reason": revision.reason,
        "recorded_at": revision.recorded_at.isoformat(),
        "site_id": revision.site_id,
        "effective_from": revision.effective_from.isoformat() if revision.effective_from else None,
        "changes": revision.changes,
        "timezone": _timezone(revision),
    }
    event = _cloudevent(CONFIG_CHANGED_TYPE, revision.tenant_id, revision.recorded_at, data)
    return OutboxMessage(topic=CONFIG_CHANGED_TOPIC, key=revision.tenant_id, event=event)


def _timezone(revision: ConfigRevision) -> str | None:
    """The zone the tenant's periods are months in after this revision (consumers such as ingest
    assign periods by it); None only while the tenant has no contract."""
    if revision.contract is None:
        return None
    zone = revision.contract.get("timezone") or "UTC"
    return str(zone)


def period_closed(closed: ClosedPeriod) -> OutboxMessage:
    data: dict[str, Any] = {
        "tenant_id": closed.tenant_id,
        "period": closed.period,
        "closed_at": closed.closed_at.isoformat(),
        "closed_by": closed.closed_by,
        "config_revision": closed.revision,
        "high_water": closed.high_water,
    }
    event = _cloudevent(PERIOD_CLOSED_TYPE, f"{closed.tenant_id}/{closed.period}", closed.closed_at, data)
    return OutboxMessage(topic=PERIOD_CLOSED_TOPIC, key=closed.tenant_id, event=event)
