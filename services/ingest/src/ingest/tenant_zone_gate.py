"""Keeps a batch's periods in step with ``tenant_zones``, the zones taken from the tenants' contracts.

Events get their period while they are checked, before the batch's transaction, from the zones this
process knows (``TenantPeriods``). Inside the transaction, before anything is written, the gate

1. gives each touched tenant that has no row one, with the zone its events were given (the
   settings' fallback: its contract is not known yet), ``ON CONFLICT DO NOTHING``;
2. reads the touched tenants' zones ``FOR SHARE``: a zone change takes the row ``FOR UPDATE`` while it
   rebuilds the tenant's aggregates, so a batch and a rebuild of the same tenant never interleave;
3. where the stored zone differs from the one this process used, adopts it and gives that tenant's
   events their period again.

A batch checked before this process adopted a tenant's new zone may still be on its way to the
database (the consumer checks batch k+1 while batch k is written; HTTP requests run alongside), so a
tenant whose zone this process ever changed stays *unsettled*: its events are re-assigned in every
batch. Those are the tenants whose contract arrived while the process ran; zones read at start-up
(``preload``) are settled, and every other tenant costs one set lookup per batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from ingest.events import UsageEvent
from ingest.periods import TenantPeriods, TimeZoneConfigError

log = logging.getLogger(__name__)

_ADD_MISSING = """
INSERT INTO tenant_zones (tenant_id, timezone)
SELECT * FROM unnest($1::text[], $2::text[]) ORDER BY 1
ON CONFLICT DO NOTHING
"""
_SHARE = """
SELECT tenant_id, timezone FROM tenant_zones WHERE tenant_id = ANY($1::text[])
ORDER BY tenant_id FOR SHARE
"""
_EVERY_ZONE = "SELECT tenant_id, timezone FROM tenant_zones"
_TENANT = itemgetter(4)
"""UsageEvent.tenant, read in C for every event of a batch."""


class TenantZoneGate:
    def __init__(self, periods: TenantPeriods) -> None:
        self._periods = periods
        self._unsettled: set[str] = set()

    @property
    def unsettled(self) -> frozenset[str]:
        return frozenset(self._unsettled)

    async def preload(self, connection: Any) -> int:
        """Adopt every stored zone; only before any event is checked (start-up), so none is unsettled.

        Returns how many tenants' zones differ from the fallback."""
        adopted = 0
        for tenant, name in await connection.fetch(_EVERY_ZONE):
            if name == self._periods.zone_name(tenant):
                continue
            try:
                self._periods.assign(tenant, name)
                adopted += 1
            except TimeZoneConfigError as error:  # the batch that touches it will say so again
                log.error("stored zone not adopted: %s", error)
        return adopted

    async def settle(self, connection: Any, events: Sequence[UsageEvent]) -> Sequence[UsageEvent]:
        """The batch's events with the periods of the stored zones, which stay share-locked until
        the caller's transaction ends. Raises TimeZoneConfigError for a stored zone this process
        does not know (the batch is then retried, never stored in the wrong period)."""
        if not events:
            return events
        tenants = sorted(set(map(_TENANT, events)))
        periods = self._periods
        await connection.execute(_ADD_MISSING, tenants, [periods.zone_name(tenant) for tenant in tenants])
        for tenant, name in await connection.fetch(_SHARE, tenants):
            if name != periods.zone_name(tenant):
                periods.assign(tenant, name)
                self._unsettled.add(tenant)
                log.info("tenant %s: periods now assigned in %s", tenant, name)
        unsettled = self._unsettled
        if unsettled.isdisjoint(tenants):
            return events
        return [
            event._replace(period=periods(event.tenant, event.time)) if event.tenant in unsettled else event
            for event in events
        ]
