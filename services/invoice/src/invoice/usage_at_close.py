"""A closed period's usage as it stood when rating closed it, bounded by the close's high-water mark.

Rating records, per closed tenant-period, what it saw of ingest's ``usage_aggregates``: the highest
``last_change`` (a value of ingest's ``aggregate_changes`` sequence), the number of distinct events
and the number of aggregate rows. Usage that ingest stores after the close must not reach the
closed period's invoice; it becomes a prior-period adjustment on the next one.

The aggregates are running totals updated in place, so they cannot be read "as of" a sequence
value, and ingest's raw events carry no ingestion sequence, only ``received_at`` (the start of the
ingest transaction that stored them). So:

* when the period's aggregates still hold exactly the events the mark counted, nothing arrived
  since the close and they are used as they are (the normal case: invoicing follows the close);
* otherwise the usage is recounted from the raw events whose time falls in the period (in the frozen
  contract's time zone), in the order ingest received them, taking
  the first ``event_count`` of them — a cut that must fall between two ingest transactions — and
  the recount is accepted only if it has the mark's number of aggregates and agrees with every
  aggregate row that has not changed since the close (``last_change`` ≤ the mark);
* anything else is refused (``UsageAtCloseError``), never guessed: the period is recorded as failed.

The recount is exact unless an ingest transaction that began before the close committed only after
rating read the mark (its events then sort before events the mark counted); the agreement checks
refuse most such cases, and the remainder is bounded by one ingest batch straddling the close.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from billing_core import Period, UsageAggregate, UsageKey
from billing_runtime.read_models import raw_events, usage_aggregates
from invoice.inputs import UnusableClosedPeriodError


class UsageAtCloseError(UnusableClosedPeriodError):
    """The closed period's usage at its close cannot be established exactly."""


class HighWaterMark:
    """What rating saw of the period's aggregates when it closed it."""

    def __init__(self, tenant_id: str, period: str, document: Mapping[str, Any]) -> None:
        try:
            self.last_change = int(document["last_change"])
            self.event_count = int(document["event_count"])
            self.aggregates = int(document["aggregates"])
        except (KeyError, TypeError, ValueError):
            raise UsageAtCloseError(
                f"the close of {tenant_id} {period} has no usable usage high-water mark "
                f"(last_change, event_count, aggregates): {dict(document)!r}"
            ) from None


def _aggregate(row: Any) -> UsageAggregate:
    return UsageAggregate(row.site_id, row.category, Decimal(row.quantity), int(row.events))


class UsageAtClose:
    """Reads from ingest's schema inside the invoicing transaction."""

    def __init__(self, ingest_schema: str) -> None:
        self._aggregates = usage_aggregates(ingest_schema)
        self._raw = raw_events(ingest_schema)

    async def usage(
        self, conn: AsyncConnection, tenant_id: str, period: str, mark: HighWaterMark, timezone: str
    ) -> dict[UsageKey, UsageAggregate]:
        """``timezone`` is the frozen contract's: a recount takes the events whose time falls in the
        period there (ingest may have re-bucketed the aggregates into that zone after the events
        were first stored, so the period column of a raw event is not the authority)."""
        aggregates = self._aggregates
        rows = (
            await conn.execute(
                sa.select(aggregates).where(
                    aggregates.c.tenant_id == tenant_id, aggregates.c.period == period
                )
            )
        ).all()
        now_counted = sum(int(row.events) for row in rows)
        if now_counted == mark.event_count and len(rows) == mark.aggregates:
            return {UsageKey(row.site_id, row.category): _aggregate(row) for row in rows}
        where = f"{tenant_id} {period}"
        if now_counted < mark.event_count:
            raise UsageAtCloseError(
                f"usage of {where} holds {now_counted} events, "
                f"fewer than the {mark.event_count} its close counted"
            )
        recount = await self._recount(conn, tenant_id, period, mark, timezone)
        if len(recount) != mark.aggregates:
            raise UsageAtCloseError(
                f"usage of {where} at its close cannot be reconstructed: the first {mark.event_count} events "
                f"received make {len(recount)} aggregates, the close counted {mark.aggregates}"
            )
        for row in rows:
            if int(row.last_change) > mark.last_change:
                continue
            before = recount.get(UsageKey(row.site_id, row.category))
            if before is None or (before.quantity, before.events) != (Decimal(row.quantity), int(row.events)):
                raise UsageAtCloseError(
                    f"usage of {where} at its close cannot be reconstructed: site {row.site_id}, category "
                    f"{row.category} is unchanged since the close but its raw events do not add up to it"
                )
        return recount

    async def _recount(
        self, conn: AsyncConnection, tenant_id: str, period: str, mark: HighWaterMark, timezone: str
    ) -> dict[UsageKey, UsageAggregate]:
        if mark.event_count == 0:
            return {}
        raw = self._raw
        month = Period.parse(period)
        in_period = sa.and_(
            raw.c.tenant_id == tenant_id,
            raw.c.event_time >= month.start(timezone),
            raw.c.event_time < month.end(timezone),
        )
        received = await conn.execute(
            sa.select(raw.c.received_at, sa.func.count())
            .where(in_period)
            .group_by(raw.c.received_at)
            .order_by(raw.c.received_at)
        )
        cutoff = _cutoff(received, mark.event_count)
        if cutoff is None:
            raise UsageAtCloseError(
                f"usage of {tenant_id} {period} at its close cannot be reconstructed: no cut between ingest "
                f"transactions leaves exactly the {mark.event_count} events its close counted"
            )
        rows = await conn.execute(
            sa.select(raw.c.site_id, raw.c.category, sa.func.sum(raw.c.quantity), sa.func.count())
            .where(in_period, raw.c.received_at <= cutoff)
            .group_by(raw.c.site_id, raw.c.category)
        )
        return {
            UsageKey(site, category): UsageAggregate(site, category, Decimal(quantity), int(events))
            for site, category, quantity, events in rows
        }


def _cutoff(received: Any, event_count: int) -> datetime | None:
    """The receipt time at which exactly ``event_count`` events had been received, counting each
    ingest transaction whole; None when the count jumps over it."""
    counted = 0
    for received_at, events in received:
        counted += int(events)
        if counted == event_count:
            return received_at  # type: ignore[no-any-return]
        if counted > event_count:
            return None
    return None
