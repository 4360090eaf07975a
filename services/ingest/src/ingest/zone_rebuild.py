"""Rebuilding one tenant's usage aggregates from its raw events, in a new time zone.

The raw events' ``period`` column is corrected too (the only change raw events allow), so a recount
of raw events by period agrees with the aggregates. The months are cut in Python (billing_core's
periods, the same zone data that assigns periods to arriving events and that `billing run` uses),
and PostgreSQL only sorts raw events into those buckets with ``width_bucket``, so the database's own
time-zone data never decides a period.

Only the stretch of time the tenant's old aggregates cover is read (their periods in the old zone,
widened by two days, more than any two zones differ), so partition pruning keeps the scan to those
months. The rebuilt event count must equal the count the old aggregates held; if it does not (they
were built in another zone than recorded), every raw event of the tenant is regrouped instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from billing_core.periods import Period, period_of
from ingest.aggregation import AggregateTotal

log = logging.getLogger(__name__)

SPAN_MARGIN = timedelta(days=2)
_INSTANT = timedelta(microseconds=1)

_DELETE = "DELETE FROM usage_aggregates WHERE tenant_id = $1 RETURNING period, events"
_RAW_SPAN = "SELECT min(event_time), max(event_time), count(*) FROM raw_events WHERE tenant_id = $1"
_RELABEL = """
UPDATE raw_events SET period = ($3::text[])[width_bucket(event_time, $2::timestamptz[])]
WHERE tenant_id = $1 AND event_time >= $4 AND event_time < $5
  AND period <> ($3::text[])[width_bucket(event_time, $2::timestamptz[])]
"""
_REGROUP = """
INSERT INTO usage_aggregates (tenant_id, site_id, category, period, quantity, events, last_change)
SELECT $1::text, r.site_id, r.category, r.period, sum(r.quantity), count(*), nextval('aggregate_changes')
FROM (
    SELECT site_id, category, quantity,
           ($3::text[])[width_bucket(event_time, $2::timestamptz[])] AS period
    FROM raw_events
    WHERE tenant_id = $1 AND event_time >= $4 AND event_time < $5
) AS r
GROUP BY r.site_id, r.category, r.period
ORDER BY r.period, r.site_id, r.category
RETURNING tenant_id, site_id, category, period, quantity, events
"""


@dataclass(frozen=True, slots=True)
class MonthBuckets:
    """Months of one zone as ``width_bucket`` thresholds: bucket i (1-based) is
    ``[starts[i-1], starts[i])`` and is labelled ``labels[i-1]``."""

    starts: list[datetime]
    labels: list[str]


def month_buckets(zone: tzinfo, low: datetime, high: datetime) -> MonthBuckets:
    """The months of ``zone`` that cover the instants ``[low, high)`` (``low < high``)."""
    first, last = period_of(low, zone), period_of(high - _INSTANT, zone)
    periods: list[Period] = [first]
    while periods[-1] < last:
        periods.append(periods[-1].next())
    return MonthBuckets(
        [period.start(zone) for period in periods] + [last.end(zone)], [str(period) for period in periods]
    )


def period_span(periods: Iterable[str], zone: tzinfo) -> tuple[datetime, datetime]:
    """The instants the periods cover in ``zone``, widened by SPAN_MARGIN on both sides."""
    parsed = sorted(Period.parse(period) for period in periods)
    return parsed[0].start(zone) - SPAN_MARGIN, parsed[-1].end(zone) + SPAN_MARGIN


@dataclass(frozen=True, slots=True)
class Rebuild:
    old_periods: frozenset[str]
    totals: Sequence[AggregateTotal]

    @property
    def periods(self) -> frozenset[str]:
        """Every period whose usage may have changed: where events were and where they are now."""
        return self.old_periods | {total.period for total in self.totals}


async def rebuild_tenant(connection: Any, tenant: str, old_zone: tzinfo, new_zone: tzinfo) -> Rebuild:
    """Replace the tenant's aggregates by its raw events grouped by month of ``new_zone``.

    Runs in the caller's transaction, which must hold the tenant's tenant_zones row FOR UPDATE (so
    no batch adds to the tenant meanwhile)."""
    deleted = await connection.fetch(_DELETE, tenant)
    if not deleted:
        return Rebuild(frozenset(), [])
    old_periods = frozenset(row["period"] for row in deleted)
    counted = sum(row["events"] for row in deleted)
    low, high = period_span(old_periods, old_zone)
    totals = await _regroup(connection, tenant, new_zone, low, high)
    if sum(total.events for total in totals) != counted:
        low_raw, high_raw, found = await connection.fetchrow(_RAW_SPAN, tenant)
        log.warning(
            "tenant %s: the aggregates counted %d events, the raw events of %s..%s hold %d; "
            "regrouping all %d raw events",
            tenant, counted, low.isoformat(), high.isoformat(),
            sum(total.events for total in totals), found,
        )  # fmt: skip
        await connection.execute("DELETE FROM usage_aggregates WHERE tenant_id = $1", tenant)
        totals = await _regroup(connection, tenant, new_zone, low_raw, high_raw + _INSTANT) if found else []
    return Rebuild(old_periods, totals)


async def _regroup(
    connection: Any, tenant: str, zone: tzinfo, low: datetime, high: datetime
) -> list[AggregateTotal]:
    buckets = month_buckets(zone, low, high)
    arguments = (tenant, buckets.starts, buckets.labels, buckets.starts[0], buckets.starts[-1])
    await connection.execute(_RELABEL, *arguments)
    return [AggregateTotal(*row) for row in await connection.fetch(_REGROUP, *arguments)]
