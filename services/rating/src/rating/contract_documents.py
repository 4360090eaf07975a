"""Contract documents as the service stores them (JSON-safe data) and the edits it makes to them.

The stored document is ``billing_core.contract_to_data`` of a validated contract, so it
always loads back to an equal Contract; every edit is validated by ``parse_contract``
again before it is stored.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from billing_core import Contract, ContractError, Period, contract_to_data, parse_contract, terms_for
from rating.errors import InvalidInput, NotFound
from rating.records import TenantState

VERSION_FIELDS = frozenset({"effective_from", "rates", "disabled", "minimum", "annual_cap"})


def json_safe(value: Any) -> Any:
    """Plain JSON data: decimals and dates as strings, tuples and sets as lists."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (frozenset, set)):
        return [json_safe(item) for item in sorted(value)]
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def document_of(contract: Contract) -> dict[str, Any]:
    data: dict[str, Any] = json_safe(contract_to_data(contract))
    return data


def load_contract(document: Mapping[str, Any], source: str) -> Contract:
    """Validate a document; problems become one InvalidInput listing every issue with its path."""
    try:
        return parse_contract(copy.deepcopy(dict(document)), source=source)
    except ContractError as exc:
        raise InvalidInput(
            f"{source}: the contract is invalid",
            issues=[{"source": i.source, "path": i.path, "message": i.message} for i in exc.issues],
        ) from exc


def _merge_version(existing: dict[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """A second change for the same effective date is laid over the first: rates merge per
    category, every other stated field replaces the earlier one."""
    merged = dict(existing)
    for key, value in change.items():
        if key == "rates" and isinstance(value, Mapping) and isinstance(merged.get("rates"), Mapping):
            merged["rates"] = {**merged["rates"], **value}
        else:
            merged[key] = value
    return merged


def with_site_version(
    document: Mapping[str, Any], site_id: str, version: Mapping[str, Any]
) -> dict[str, Any]:
    """The document with one pricing version added to a site (merged into one of the same date)."""
    unknown = sorted(set(version) - VERSION_FIELDS)
    if unknown:
        raise InvalidInput(
            f"unknown field(s) in the pricing version: {', '.join(unknown)}",
            fields=unknown,
            allowed=sorted(VERSION_FIELDS),
        )
    result = copy.deepcopy(dict(document))
    for site in result.get("sites", []):
        if site.get("id") == site_id:
            break
    else:
        raise NotFound(f"tenant {result.get('tenant')} has no site {site_id!r}", site=site_id)
    safe = json_safe(version)
    pricing: list[dict[str, Any]] = list(site.get("pricing") or [])
    for index, existing in enumerate(pricing):
        if existing.get("effective_from") == safe["effective_from"]:
            pricing[index] = _merge_version(existing, safe)
            break
    else:
        pricing.append(safe)
    site["pricing"] = sorted(pricing, key=lambda item: str(item.get("effective_from")))
    return result


def site_version(contract: Contract, site_id: str, effective_from: date) -> Any:
    """The site's pricing version that starts on ``effective_from``."""
    site = contract.site(site_id)
    if site is None:
        raise NotFound(f"tenant {contract.tenant} has no site {site_id!r}", site=site_id)
    for version in site.pricing:
        if version.effective_from == effective_from:
            return version
    raise NotFound(f"site {site_id} has no version effective {effective_from.isoformat()}")


def repriced_periods(before: Contract | None, after: Contract, periods: Iterable[Period]) -> list[Period]:
    """The given periods whose billing would differ under ``after``: changed terms or active
    days of any site, or a changed currency, time zone or contract start."""
    periods = sorted(periods)
    if not periods:
        return []
    if before is None:
        return periods
    if (before.currency, before.timezone, before.contract_start) != (
        after.currency,
        after.timezone,
        after.contract_start,
    ):
        return periods
    site_ids = {site.id for site in before.sites} | {site.id for site in after.sites}
    changed: list[Period] = []
    for period in periods:
        for site_id in sorted(site_ids):
            old_site, new_site = before.site(site_id), after.site(site_id)
            old_days = old_site.active_days(period) if old_site else 0
            new_days = new_site.active_days(period) if new_site else 0
            if old_days != new_days or terms_for(before, site_id, period) != terms_for(
                after, site_id, period
            ):
                changed.append(period)
                break
    return changed


def terms_data(contract: Contract, site_id: str, period: Period) -> dict[str, Any] | None:
    """The resolved terms of a site for a period, as JSON data (None when nothing is in force)."""
    terms = terms_for(contract, site_id, period)
    if terms is None:
        return None
    minimum = None
    if terms.minimum is not None:
        minimum = {
            "amount": str(terms.minimum.amount),
            "categories": list(terms.minimum.categories) if terms.minimum.categories is not None else None,
        }
    return {
        "rates": {category: str(rate) for category, rate in sorted(terms.rates.items())},
        "disabled": sorted(terms.disabled),
        "minimum": minimum,
        "annual_cap": str(terms.annual_cap) if terms.annual_cap is not None else None,
    }


def stored_contract(state: TenantState | None, tenant_id: str) -> tuple[TenantState, Contract]:
    """The tenant's head state and its contract; NotFound when it has none yet."""
    if state is None or state.contract is None:
        raise NotFound(f"tenant {tenant_id!r} has no contract", tenant=tenant_id)
    return state, load_contract(state.contract, f"stored contract of {tenant_id}")
