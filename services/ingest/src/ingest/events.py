"""The accepted usage event, as the ledger stores it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

EventKey = tuple[str, str]
"""(source, id): the identity of an event, whatever path or partition it arrives on."""

AggregateKey = tuple[str, str, str, str]
"""(tenant, site, category, period)."""


class UsageEvent(NamedTuple):
    """A tuple whose field order is the column order of raw_events, so it is COPY-ready as it is
    (building a row object per event would cost as much as checking it)."""

    source: str
    id: str
    time: datetime
    type: str
    tenant: str
    site: str
    category: str
    period: str
    quantity: Decimal
    payload: bytes
    """The bytes as received: Kafka structured, the record value; binary, the data; HTTP, the event's JSON."""

    @property
    def key(self) -> EventKey:
        return (self.source, self.id)

    @property
    def aggregate_key(self) -> AggregateKey:
        return (self.tenant, self.site, self.category, self.period)
