"""Period assignment for ingest: billing_core's period_of in the tenant's time zone, made cheap.

Tenant time zones come from the tenants' contracts (table tenant_zones, fed by rating's
billing.config.changed.v1, see ingest.tenant_zone_gate); the zones of the settings are only the
fallback for a tenant whose contract is not known yet. The event time is stored with each raw event,
so aggregates are rebuilt when a zone changes (ingest.zone_changes).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billing_core.periods import period_of


class TimeZoneConfigError(ValueError):
    pass


def _zone(name: str, where: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeZoneConfigError(f"{where}: unknown time zone {name!r}") from None


class TenantPeriods:
    """Callable (tenant, instant) → "YYYY-MM".

    Remembers the boundaries of the last period seen per zone, so a batch of events from the same
    month costs one comparison each instead of a time-zone conversion. The boundaries are kept as
    UTC datetimes and as POSIX timestamps: an event time written with ``Z`` has the ``UTC`` tzinfo
    itself, and two datetimes sharing a tzinfo compare field by field (26 ns here, against 105 ns
    for ``timestamp()``); with another tzinfo the comparison would convert both ends (800 ns), so
    those times are compared as timestamps.
    """

    def __init__(self, timezones: Mapping[str, str] | None = None, default: str = "UTC") -> None:
        self._default = _zone(default, "default time zone")
        self._zones = {
            tenant: _zone(name, f"time zone of tenant {tenant!r}")
            for tenant, name in (timezones or {}).items()
        }
        self._last: dict[tzinfo, tuple[datetime, datetime, float, float, str]] = {}

    def zone_of(self, tenant: str) -> tzinfo:
        return self._zones.get(tenant, self._default)

    def zone_name(self, tenant: str) -> str:
        return str(self.zone_of(tenant))

    def assign(self, tenant: str, name: str) -> None:
        """Use ``name`` for the tenant from now on (its contract's zone); refuses an unknown zone."""
        self._zones[tenant] = _zone(name, f"time zone of tenant {tenant!r}")

    def __call__(self, tenant: str, instant: datetime) -> str:
        zone = self._zones.get(tenant, self._default)
        cached = self._last.get(zone)
        if cached is not None:
            if instant.tzinfo is UTC:
                if cached[0] <= instant < cached[1]:
                    return cached[4]
            elif cached[2] <= instant.timestamp() < cached[3]:
                return cached[4]
        period = period_of(instant, zone)
        label = str(period)
        try:
            start, end = period.start(zone).astimezone(UTC), period.end(zone).astimezone(UTC)
            self._last[zone] = (start, end, start.timestamp(), end.timestamp(), label)
        except (ValueError, OverflowError):
            self._last.pop(zone, None)  # the last representable month: nothing to remember
        return label
