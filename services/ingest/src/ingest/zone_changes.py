"""Applying a tenant's contract time zone, as billing.config.changed.v1 announces it, to ingest.

One transaction per announcement: the tenant's ``tenant_zones`` row is taken FOR UPDATE (a batch of
the tenant's usage holds it FOR SHARE, so the two wait for each other); when the zone differs, the
row is updated, the tenant's aggregates are rebuilt from its raw events in the new zone and every
tenant-period whose usage may have changed is announced on usage.aggregated.v1 (marked ``rebuilt``)
through the outbox; the topic position is stored in the same transaction. An announcement whose
zone is the current one, or whose revision is not newer than the row's, changes nothing.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncEngine

from ingest.ledger_port import PartitionPosition
from ingest.outbox_messages import aggregated_notifications
from ingest.periods import TenantPeriods
from ingest.pg_ledger import _STORE_POSITIONS, _queue, driver_connection
from ingest.zone_rebuild import rebuild_tenant

_ADD_FALLBACK = "INSERT INTO tenant_zones (tenant_id, timezone) VALUES ($1, $2) ON CONFLICT DO NOTHING"
_LOCK = "SELECT timezone, revision FROM tenant_zones WHERE tenant_id = $1 FOR UPDATE"
_UPDATE = "UPDATE tenant_zones SET timezone = $2, revision = $3, updated_at = now() WHERE tenant_id = $1"


@dataclass(frozen=True, slots=True)
class ZoneChange:
    tenant: str
    timezone: str
    revision: int


def zone_change(data: object) -> ZoneChange | None:
    """The zone a billing.config.changed.v1 ``data`` sets for its tenant.

    None when it sets none (``timezone`` null or absent: no contract, or a publisher older than the
    field); ValueError, naming the field, when the data cannot be used.
    """
    if not isinstance(data, dict):
        raise ValueError("data is not a JSON object")
    tenant, revision, zone = data.get("tenant_id"), data.get("revision"), data.get("timezone")
    if not isinstance(tenant, str) or not tenant:
        raise ValueError(f"data.tenant_id {tenant!r} is not a tenant id")
    if zone is None:
        return None
    if type(revision) is not int or revision < 1:
        raise ValueError(f"data.revision {revision!r} of tenant {tenant!r} is not a positive integer")
    if not isinstance(zone, str):
        raise ValueError(f"data.timezone {zone!r} of tenant {tenant!r} is not a zone name")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"data.timezone {zone!r} of tenant {tenant!r} is not a known IANA zone") from None
    return ZoneChange(tenant, zone, revision)


class Outcome(enum.StrEnum):
    REBUILT = "rebuilt"
    """The zone changed: aggregates rebuilt (possibly none) and announced."""
    UNCHANGED = "unchanged"
    """Same zone as held (the revision number is recorded)."""
    STALE = "stale"
    """A revision not newer than the one the zone came from: ignored."""
    NO_ZONE = "no_zone"
    """Nothing to apply (no zone in the event, or an unusable event): only the position moved."""


@dataclass(frozen=True, slots=True)
class Applied:
    outcome: Outcome
    periods: Sequence[str] = ()
    """The periods announced as rebuilt."""


class ZoneChanges:
    def __init__(self, engine: AsyncEngine, periods: TenantPeriods, aggregated_topic: str) -> None:
        self._engine = engine
        self._periods = periods
        self._aggregated_topic = aggregated_topic

    async def apply(
        self, change: ZoneChange | None, position: PartitionPosition | None = None, consumer_group: str = ""
    ) -> Applied:
        async with driver_connection(self._engine) as connection, connection.transaction():
            applied = await self._apply(connection, change) if change else Applied(Outcome.NO_ZONE)
            if position is not None:
                await connection.execute(
                    _STORE_POSITIONS, [consumer_group], [position.topic], [position.partition],
                    [position.next_offset],
                )  # fmt: skip
        return applied

    async def _apply(self, connection: Any, change: ZoneChange) -> Applied:
        tenant = change.tenant
        # No row yet: whatever usage the tenant has was grouped in the fallback zone.
        await connection.execute(_ADD_FALLBACK, tenant, self._periods.zone_name(tenant))
        held, revision = await connection.fetchrow(_LOCK, tenant)
        if change.revision <= revision:
            return Applied(Outcome.STALE)
        await connection.execute(_UPDATE, tenant, change.timezone, change.revision)
        if held == change.timezone:
            return Applied(Outcome.UNCHANGED)
        rebuild = await rebuild_tenant(connection, tenant, ZoneInfo(held), ZoneInfo(change.timezone))
        periods = sorted(rebuild.periods)
        await _queue(
            connection,
            aggregated_notifications(
                rebuild.totals, self._aggregated_topic, rebuilt={(tenant, period) for period in periods}
            ),
        )
        return Applied(Outcome.REBUILT, periods)
