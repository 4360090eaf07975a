"""The contract configuration model and effective-dated resolution of pricing terms.

A pricing version states only what changes. Three states per field matter: not stated
(inherit from the previous version), stated as null (removed), stated with a value.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Final, TypeVar

from .money import Currency, currency_of
from .periods import Period

__all__ = [
    "INHERIT",
    "Contract",
    "Inherit",
    "Minimum",
    "PricingVersion",
    "Site",
    "Terms",
    "terms_for",
    "version_in_force",
]


class Inherit(enum.Enum):
    """Marks a version field that was not stated, so the previous version's value applies."""

    INHERIT = "inherit"

    def __repr__(self) -> str:
        return "INHERIT"


INHERIT: Final = Inherit.INHERIT

T = TypeVar("T")


@dataclass(frozen=True)
class Minimum:
    """Monthly minimum commitment; ``categories`` None means every category counts."""

    amount: Decimal
    categories: tuple[str, ...] | None = None
    """In the contract's order, which is also the order explanations name them in."""

    @cached_property
    def counted(self) -> frozenset[str] | None:
        """The categories that count, as a set for lookups; None: every category."""
        return None if self.categories is None else frozenset(self.categories)

    def counts(self, category: str) -> bool:
        counted = self.counted
        return counted is None or category in counted


@dataclass(frozen=True)
class PricingVersion:
    """One effective-dated change. ``rates`` values of None remove that category's rate."""

    effective_from: date
    rates: Mapping[str, Decimal | None] = field(default_factory=dict)
    disabled: frozenset[str] | Inherit = INHERIT
    minimum: Minimum | Inherit | None = INHERIT
    annual_cap: Decimal | Inherit | None = INHERIT

    def __post_init__(self) -> None:
        object.__setattr__(self, "rates", MappingProxyType(dict(self.rates)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PricingVersion):
            return NotImplemented
        return (
            self.effective_from == other.effective_from
            and dict(self.rates) == dict(other.rates)
            and self.disabled == other.disabled
            and self.minimum == other.minimum
            and self.annual_cap == other.annual_cap
        )

    def __hash__(self) -> int:
        return hash((self.effective_from, tuple(sorted(self.rates.items())), self.disabled))


@dataclass(frozen=True)
class Site:
    """A tenant location; the unit at which minimums and caps apply."""

    id: str
    name: str
    active_from: date | None = None
    active_until: date | None = None
    """Exclusive end of the active window; None means still active."""
    pricing: tuple[PricingVersion, ...] = ()

    def active_days(self, period: Period) -> int:
        return period.days_within(self.active_from, self.active_until)

    def is_active_in(self, period: Period) -> bool:
        return self.active_days(period) > 0


@dataclass(frozen=True)
class Contract:
    """A tenant's whole contract: one currency, one time zone, default and per-site pricing."""

    tenant: str
    name: str
    currency: str
    contract_start: date
    timezone: str = "UTC"
    defaults: tuple[PricingVersion, ...] = ()
    sites: tuple[Site, ...] = ()

    @property
    def money(self) -> Currency:
        return currency_of(self.currency)

    @property
    def start_period(self) -> Period:
        return Period.of_date(self.contract_start)

    @cached_property
    def _sites_by_id(self) -> dict[str, Site]:
        return {site.id: site for site in self.sites}

    def site(self, site_id: str) -> Site | None:
        return self._sites_by_id.get(site_id)

    @property
    def site_ids(self) -> frozenset[str]:
        return frozenset(self._sites_by_id)


@dataclass(frozen=True)
class Terms:
    """The effective pricing of one site for one period, all inheritance resolved."""

    rates: Mapping[str, Decimal]
    disabled: frozenset[str] = frozenset()
    minimum: Minimum | None = None
    annual_cap: Decimal | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rates", MappingProxyType(dict(self.rates)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Terms):
            return NotImplemented
        return (dict(self.rates), self.disabled, self.minimum, self.annual_cap) == (
            dict(other.rates),
            other.disabled,
            other.minimum,
            other.annual_cap,
        )

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.rates.items())), self.disabled, self.minimum, self.annual_cap))


def version_in_force(versions: Iterable[PricingVersion], period: Period) -> PricingVersion | None:
    """The version with the latest effective_from on or before the period start."""
    best: PricingVersion | None = None
    for version in versions:
        if version.effective_from <= period.first_day and (
            best is None or version.effective_from > best.effective_from
        ):
            best = version
    return best


@dataclass
class Layered:
    """Accumulated state of a chain of versions, keeping explicit removals as None."""

    rates: dict[str, Decimal | None] = field(default_factory=dict)
    disabled: frozenset[str] | Inherit = INHERIT
    minimum: Minimum | Inherit | None = INHERIT
    annual_cap: Decimal | Inherit | None = INHERIT

    def copy(self) -> Layered:
        return Layered(dict(self.rates), self.disabled, self.minimum, self.annual_cap)

    def lay(self, version: PricingVersion | Layered) -> None:
        self.rates.update(version.rates)
        self.disabled = _over(version.disabled, self.disabled)
        self.minimum = _over(version.minimum, self.minimum)
        self.annual_cap = _over(version.annual_cap, self.annual_cap)


def _over(new: T | Inherit, old: T | Inherit) -> T | Inherit:
    return old if new is INHERIT else new


def _layer(versions: Iterable[PricingVersion], period: Period) -> Layered | None:
    chain = sorted(
        (v for v in versions if v.effective_from <= period.first_day), key=lambda v: v.effective_from
    )
    if not chain:
        return None
    state = Layered()
    for version in chain:
        state.lay(version)
    return state


def _settled(value: T | Inherit | None) -> T | None:
    return None if value is INHERIT else value


def terms_for(contract: Contract, site_id: str, period: Period) -> Terms | None:
    """Resolve the terms of a site for a period, or None when nothing is in force.

    The site's chain (up to the period) is laid over the tenant default chain. A value the
    site sets to null stays removed even when the defaults have one. Periods before the
    contract start and unknown sites have no terms.
    """
    site = contract.site(site_id)
    if site is None or period < contract.start_period:
        return None
    return site_terms(site, period, default_chain(contract, period))


def default_chain(contract: Contract, period: Period) -> Layered | None:
    """The tenant default chain laid up to the period, for ``site_terms``. It depends only on
    which default versions are in force, and ``site_terms`` leaves it as it is, so one serves
    every site of a period (and every period with the same default versions in force)."""
    return _layer(contract.defaults, period)


def site_terms(site: Site, period: Period, defaults: Layered | None) -> Terms | None:
    """``terms_for`` a contract's site and a period from the contract start on, over the
    period's ``default_chain``."""
    site_state = _layer(site.pricing, period)
    if site_state is None:
        if defaults is None:
            return None
        state = defaults
    else:
        state = Layered() if defaults is None else defaults.copy()
        state.lay(site_state)
    disabled = _settled(state.disabled)
    return Terms(
        rates={category: rate for category, rate in state.rates.items() if rate is not None},
        disabled=disabled if disabled is not None else frozenset(),
        minimum=_settled(state.minimum),
        annual_cap=_settled(state.annual_cap),
    )
