"""The accepted usage event, as the ledger stores it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

EventKey = tuple[str, str]
"""(source, id): the identity of an event, whatever path or partition it arrives on."""

AggregateKey = tuple[str, str, str, str]
"""(tenant, site, category, period)."""


@dataclass(slots=True)
class UsageEvent:
    """Treated as immutable; not declared frozen because frozen construction costs ~2x per event."""

    source: str
    id: str
    type: str
    time: datetime
    tenant: str
    site: str
    category: str
    quantity: Decimal
    period: str
    payload: bytes
    """The bytes as received: Kafka structured, the record value; binary, the data; HTTP, the event's JSON."""

    @property
    def key(self) -> EventKey:
        return (self.source, self.id)

    @property
    def aggregate_key(self) -> AggregateKey:
        return (self.tenant, self.site, self.category, self.period)
