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
    """A tuple whose first ten fields are the columns of raw_events in order (building a row object
    per event would cost as much as checking it)."""

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
    time_text: str = ""
    """``time`` as PostgreSQL is to read it: the received text when it reads as the same instant,
    "" when it must be written from ``time``. Not a raw_events column."""

    @property
    def key(self) -> EventKey:
        return (self.source, self.id)

    @property
    def aggregate_key(self) -> AggregateKey:
        return (self.tenant, self.site, self.category, self.period)
