"""Contract and tenant-settings changes: effective-dated, append-only, refused when they would
reprice the current period, a past one, or one already invoiced."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from billing_core import Contract, Period, period_of
from rating.clock import Clock
from rating.config_events import config_changed
from rating.contract_documents import (
    document_of,
    load_contract,
    repriced_periods,
    stored_contract,
    terms_data,
    with_site_version,
)
from rating.document_diff import diff_documents
from rating.errors import InvalidInput, NotFound, PeriodLocked
from rating.ports import RatingStore, TenantTransaction
from rating.records import ConfigRevision, TenantSettings, TenantState

CONTRACT_LOADED = "contract_loaded"
CONTRACT_REPLACED = "contract_replaced"
SITE_PRICING_ADDED = "site_pricing_added"
SETTINGS_CHANGED = "settings_changed"
MAX_GRACE_HOURS = 24 * 31


@dataclass(frozen=True)
class Author:
    """Who made a change and why; both are kept in the history."""

    actor: str
    reason: str


@dataclass(frozen=True)
class ChangeResult:
    revision: ConfigRevision | None
    """None when the request changed nothing (a repeated PUT): no revision is recorded."""
    tenant: TenantState


def _periods(names: list[str]) -> list[Period]:
    return [Period.parse(name) for name in names]


def _describe(periods: list[Period]) -> str:
    return ", ".join(str(period) for period in periods)


class ContractService:
    def __init__(self, store: RatingStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def _append(
        self,
        tx: TenantTransaction,
        state: TenantState | None,
        tenant_id: str,
        *,
        kind: str,
        author: Author,
        contract: dict[str, Any] | None,
        settings: TenantSettings,
        changes: list[dict[str, Any]],
        site_id: str | None = None,
        effective_from: date | None = None,
    ) -> ChangeResult:
        now = self._clock.now()
        revision = ConfigRevision(
            tenant_id=tenant_id,
            revision=(state.revision if state else 0) + 1,
            kind=kind,
            actor=author.actor,
            reason=author.reason,
            recorded_at=now,
            contract=contract,
            settings=settings,
            changes=changes,
            site_id=site_id,
            effective_from=effective_from,
        )
        await tx.append_revision(revision)
        await tx.enqueue(config_changed(revision))
        onboarded = state.onboarded_at if state and state.onboarded_at else (now if contract else None)
        head = TenantState(tenant_id, revision.revision, contract, settings, onboarded)
        return ChangeResult(revision, head)

    async def put_contract(
        self, tenant_id: str, data: Mapping[str, Any], source: str, author: Author
    ) -> ChangeResult:
        """Onboard a tenant or replace its whole contract."""
        contract = load_contract(data, source)
        if contract.tenant != tenant_id:
            raise InvalidInput(
                f"{source}: the contract is for tenant {contract.tenant!r}, not {tenant_id!r}",
                path="tenant",
            )
        document = document_of(contract)
        async with self._store.tenant_transaction(tenant_id) as tx:
            state = await tx.state()
            previous = state.contract if state else None
            if state is not None and previous == document:
                return ChangeResult(None, state)
            before = load_contract(previous, f"stored contract of {tenant_id}") if previous else None
            invoiced = _periods(await tx.closed_periods())
            repriced = repriced_periods(before, contract, invoiced)
            if repriced:
                raise PeriodLocked(
                    f"the contract would reprice invoiced period(s) {_describe(repriced)} of tenant "
                    f"{tenant_id}; change only later periods",
                    periods=[str(p) for p in repriced],
                )
            changes = [change.to_data() for change in diff_documents(previous or {}, document)]
            return await self._append(
                tx,
                state,
                tenant_id,
                kind=CONTRACT_REPLACED if previous else CONTRACT_LOADED,
                author=author,
                contract=document,
                settings=state.settings if state else TenantSettings(),
                changes=changes,
            )

    def _effective_from(self, contract: Contract, version: Mapping[str, Any]) -> date:
        current = period_of(self._clock.now(), contract.timezone)
        raw = version.get("effective_from")
        if raw is None:
            return current.next().first_day
        try:
            day = raw if isinstance(raw, date) else date.fromisoformat(str(raw))
        except ValueError as exc:
            raise InvalidInput(
                f"effective_from {raw!r} is not a date (YYYY-MM-DD)", path="effective_from"
            ) from exc
        if day.day != 1:
            raise InvalidInput(
                f"effective_from {day.isoformat()} is not the first day of a period", path="effective_from"
            )
        period = Period.of_date(day)
        if period == current:
            raise PeriodLocked(
                f"a version effective {day.isoformat()} would change the current period {period}; "
                f"the earliest allowed is {current.next().first_day.isoformat()}",
                period=str(period),
            )
        if period < current:
            raise PeriodLocked(
                f"a version effective {day.isoformat()} would change the past period {period}; "
                f"the earliest allowed is {current.next().first_day.isoformat()}",
                period=str(period),
            )
        return day

    async def add_site_version(
        self, tenant_id: str, site_id: str, version: Mapping[str, Any], author: Author
    ) -> ChangeResult:
        """Add one pricing version to a site, effective at a future period start."""
        source = f"pricing version for {tenant_id}/{site_id}"
        async with self._store.tenant_transaction(tenant_id) as tx:
            state, before = stored_contract(await tx.state(), tenant_id)
            effective_from = self._effective_from(before, version)
            invoiced = _periods(await tx.closed_periods())
            effective = Period.of_date(effective_from)
            if effective in invoiced:
                raise PeriodLocked(
                    f"period {effective} of tenant {tenant_id} is already invoiced", period=str(effective)
                )
            previous = document_of(before)
            document = with_site_version(previous, site_id, {**version, "effective_from": effective_from})
            after = load_contract(document, source)
            repriced = repriced_periods(before, after, invoiced)
            if repriced:
                raise PeriodLocked(
                    f"the version would reprice invoiced period(s) {_describe(repriced)}",
                    periods=[str(p) for p in repriced],
                )
            changes = [change.to_data() for change in diff_documents(previous, document)]
            return await self._append(
                tx,
                state,
                tenant_id,
                kind=SITE_PRICING_ADDED,
                author=author,
                contract=document,
                settings=state.settings,
                changes=changes,
                site_id=site_id,
                effective_from=effective_from,
            )

    async def put_settings(self, tenant_id: str, data: Mapping[str, Any], author: Author) -> ChangeResult:
        async with self._store.tenant_transaction(tenant_id) as tx:
            state = await tx.state()
            current = state.settings if state else TenantSettings()
            contract = load_contract(state.contract, tenant_id) if state and state.contract else None
            settings = _settings_from(data, current, contract)
            if state is not None and settings == state.settings:
                return ChangeResult(None, state)
            changes = [c.to_data() for c in diff_documents(current.to_data(), settings.to_data())]
            return await self._append(
                tx,
                state,
                tenant_id,
                kind=SETTINGS_CHANGED,
                author=author,
                contract=state.contract if state else None,
                settings=settings,
                changes=changes,
            )

    async def contract(self, tenant_id: str) -> tuple[TenantState, Contract]:
        return stored_contract(await self._store.tenant(tenant_id), tenant_id)

    async def contract_for_period(self, tenant_id: str, period: Period) -> dict[str, Any]:
        """The contract as in force for a period: the frozen copy once the period is closed."""
        closed = await self._store.closed_period(tenant_id, str(period))
        if closed is not None:
            contract = load_contract(closed.contract, f"contract frozen for {tenant_id} {period}")
            revision = closed.revision
        else:
            state, contract = await self.contract(tenant_id)
            revision = state.revision
        sites = [
            {
                "site": site.id,
                "name": site.name,
                "active_days": site.active_days(period),
                "days_in_period": period.days,
                "terms": terms_data(contract, site.id, period) if site.is_active_in(period) else None,
            }
            for site in contract.sites
        ]
        return {
            "tenant": tenant_id,
            "period": str(period),
            "revision": revision,
            "frozen": closed is not None,
            "currency": contract.currency,
            "timezone": contract.timezone,
            "contract_start": contract.contract_start.isoformat(),
            "sites": sites,
        }

    async def history(self, tenant_id: str) -> list[tuple[ConfigRevision, list[dict[str, Any]] | None]]:
        """Every revision, with the effect of a site version on that site's resolved terms."""
        revisions = await self._store.revisions(tenant_id)
        if not revisions:
            raise NotFound(f"tenant {tenant_id!r} has no configuration history", tenant=tenant_id)
        entries: list[tuple[ConfigRevision, list[dict[str, Any]] | None]] = []
        previous: dict[str, Any] | None = None
        for revision in revisions:
            effect = None
            if revision.site_id and revision.effective_from and revision.contract is not None:
                effect = version_effect(
                    previous, revision.contract, revision.site_id, revision.effective_from
                )
            entries.append((revision, effect))
            previous = revision.contract
        return entries

    async def tenant_state(self, tenant_id: str) -> TenantState | None:
        return await self._store.tenant(tenant_id)

    async def settings(self, tenant_id: str) -> dict[str, Any]:
        state = await self._store.tenant(tenant_id)
        if state is None:
            raise NotFound(f"tenant {tenant_id!r} is unknown", tenant=tenant_id)
        return settings_view(state)


def version_effect(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], site_id: str, effective_from: date
) -> list[dict[str, Any]]:
    """How a site version changed the site's resolved terms from its effective period on: the
    difference against the version in force just before it."""
    period = Period.of_date(effective_from)
    old = terms_data(load_contract(before, "previous revision"), site_id, period) if before else None
    new = terms_data(load_contract(after, "revision"), site_id, period)
    return [change.to_data() for change in diff_documents(old or {}, new or {})]


def settings_view(state: TenantState) -> dict[str, Any]:
    contract = state.contract or {}
    return {
        "tenant": state.tenant_id,
        "revision": state.revision,
        "currency": contract.get("currency"),
        "timezone": contract.get("timezone", "UTC") if contract else None,
        "contract_start": contract.get("contract_start"),
        **state.settings.to_data(),
    }


_FROM_CONTRACT = ("currency", "timezone", "contract_start")


def _settings_from(
    data: Mapping[str, Any], current: TenantSettings, contract: Contract | None
) -> TenantSettings:
    unknown = sorted(
        set(data) - {"grace_hours", "reconciliation_threshold", "tenant", "revision", *_FROM_CONTRACT}
    )
    if unknown:
        raise InvalidInput(f"unknown setting(s): {', '.join(unknown)}", fields=unknown)
    for name in _FROM_CONTRACT:
        if name in data and data[name] is not None:
            stated = str(data[name])
            held = None if contract is None else str(getattr(contract, name))
            if stated != held:
                raise InvalidInput(
                    f"{name} comes from the contract; change it with PUT /v1/contracts/{{tenant}}",
                    path=name,
                )
    settings = current
    if "grace_hours" in data:
        grace = data["grace_hours"]
        if isinstance(grace, bool) or not isinstance(grace, (int, str, Decimal)):
            raise InvalidInput("grace_hours must be a whole number of hours", path="grace_hours")
        try:
            hours = Decimal(str(grace))
        except InvalidOperation as exc:
            raise InvalidInput(f"grace_hours {grace!r} is not a number", path="grace_hours") from exc
        if hours != hours.to_integral_value() or not 0 <= hours <= MAX_GRACE_HOURS:
            raise InvalidInput(
                f"grace_hours {grace} must be a whole number from 0 to {MAX_GRACE_HOURS}", path="grace_hours"
            )
        settings = replace(settings, grace_hours=int(hours))
    if "reconciliation_threshold" in data:
        raw = data["reconciliation_threshold"]
        if isinstance(raw, (bool, float)):
            raise InvalidInput(
                "reconciliation_threshold must be a decimal string or an integer",
                path="reconciliation_threshold",
            )
        try:
            threshold = Decimal(str(raw))
        except InvalidOperation as exc:
            raise InvalidInput(
                f"reconciliation_threshold {raw!r} is not a decimal", path="reconciliation_threshold"
            ) from exc
        if not threshold.is_finite() or threshold < 0:
            raise InvalidInput(
                f"reconciliation_threshold {raw} must be zero or more", path="reconciliation_threshold"
            )
        settings = replace(settings, reconciliation_threshold=threshold)
    return settings
