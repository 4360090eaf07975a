"""Contract documents as plain data (what a YAML or JSON loader yields) to and from the model.

Numbers must arrive as Decimal, int or str — a float has already lost precision, so it is
refused. Every problem is collected with the file and the path inside it, so one pass
tells the author everything that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .contract import INHERIT, Contract, Inherit, Minimum, PricingVersion, Site
from .errors import ContractError, Issue
from .money import CURRENCIES, Currency, unit_price_problem

__all__ = ["contract_to_data", "parse_contract"]

_WIDE = Context(prec=200)

T = TypeVar("T")

_CONTRACT_FIELDS = {"tenant", "name", "currency", "contract_start", "timezone", "defaults", "sites"}
_SITE_FIELDS = {"id", "name", "active_from", "active_until", "pricing"}
_VERSION_FIELDS = {"effective_from", "rates", "disabled", "minimum", "annual_cap"}
_MINIMUM_FIELDS = {"amount", "categories"}


class _Invalid(Exception):
    """A value was refused; the issue has already been recorded."""


class _Reader:
    """Collects issues while converting values; each check names its path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[Issue] = []
        self.currency: Currency | None = None

    def fail(self, path: str, message: str) -> _Invalid:
        self.issues.append(Issue(self.source, path, message))
        return _Invalid()

    def mapping(
        self, value: Any, path: str, allowed: set[str], required: Iterable[str] = ()
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(path, f"must be a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                self.fail(_join(path, str(key)), f"unknown field (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.fail(_join(path, key), "is required")
        return value

    def text(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"must be a non-empty string, got {_kind(value)}")
        return value

    def day(self, value: Any, path: str, *, month_start: bool = False) -> date:
        if isinstance(value, datetime):
            raise self.fail(path, f"must be a date (YYYY-MM-DD), got a date and time {value.isoformat()}")
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                raise self.fail(path, f"{value!r} is not a date (YYYY-MM-DD)") from None
        if not isinstance(value, date):
            raise self.fail(path, f"must be a date (YYYY-MM-DD), got {_kind(value)}")
        if month_start and value.day != 1:
            raise self.fail(path, f"{value.isoformat()} is not the first day of a month")
        return value

    def decimal(self, value: Any, path: str) -> Decimal:
        if isinstance(value, float):
            raise self.fail(path, f"{value!r} is a binary float; write the number as a quoted decimal string")
        if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
            raise self.fail(path, f"must be a decimal number, got {_kind(value)}")
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise self.fail(path, f"{value!r} is not a decimal number") from None
        if not number.is_finite():
            raise self.fail(path, f"{value!r} is not a finite number")
        return number

    def price(self, value: Any, path: str) -> Decimal:
        number = self.decimal(value, path)
        problem = unit_price_problem(number)
        if problem is not None:
            raise self.fail(path, problem)
        return number

    def money(self, value: Any, path: str) -> Decimal:
        number = self.decimal(value, path)
        if number < 0:
            raise self.fail(path, f"amount {value} must not be negative")
        if self.currency is not None and number != number.quantize(self.currency.quantum, context=_WIDE):
            raise self.fail(
                path,
                f"amount {value} has more decimals than {self.currency.code} allows "
                f"({self.currency.minor_units})",
            )
        return number

    def categories(self, value: Any, path: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.fail(path, f"must be a list of categories, got {_kind(value)}")
        names = tuple(self.text(item, f"{path}[{i}]") for i, item in enumerate(value))
        if len(set(names)) != len(names):
            raise self.fail(path, "lists a category twice")
        return names

    def attempt(self, convert: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run one conversion; on failure its issue is recorded and None stands in."""
        try:
            return convert(*args, **kwargs)
        except _Invalid:
            return None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _version(reader: _Reader, data: Any, path: str) -> PricingVersion:
    fields = reader.mapping(data, path, _VERSION_FIELDS, required=("effective_from",))
    effective_from = reader.attempt(
        reader.day, fields.get("effective_from"), _join(path, "effective_from"), month_start=True
    )
    rates: dict[str, Decimal | None] = {}
    if "rates" in fields:
        raw_rates = fields["rates"]
        if not isinstance(raw_rates, Mapping):
            reader.fail(
                _join(path, "rates"), f"must be a mapping of category to price, got {_kind(raw_rates)}"
            )
            raw_rates = {}
        for category, raw in raw_rates.items():
            rate_path = f"{_join(path, 'rates')}.{category}"
            if not isinstance(category, str) or not category.strip():
                reader.fail(rate_path, "category must be a non-empty string")
            else:
                # A refused price stands in as zero so later checks do not repeat its issue;
                # the contract as a whole is refused anyway.
                rates[category] = (
                    None if raw is None else reader.attempt(reader.price, raw, rate_path) or Decimal(0)
                )
    disabled: frozenset[str] | Inherit = INHERIT
    if "disabled" in fields:
        raw_disabled = fields["disabled"]
        names = (
            ()
            if raw_disabled is None
            else reader.attempt(reader.categories, raw_disabled, _join(path, "disabled"))
        )
        disabled = frozenset(names or ())
    minimum: Minimum | Inherit | None = INHERIT
    if "minimum" in fields:
        raw_minimum = fields["minimum"]
        minimum = (
            None
            if raw_minimum is None
            else reader.attempt(_minimum, reader, raw_minimum, _join(path, "minimum"))
        )
    annual_cap: Decimal | Inherit | None = INHERIT
    if "annual_cap" in fields:
        raw_cap = fields["annual_cap"]
        annual_cap = (
            None if raw_cap is None else reader.attempt(reader.money, raw_cap, _join(path, "annual_cap"))
        )
    if effective_from is None:
        raise _Invalid()
    return PricingVersion(effective_from, rates, disabled, minimum, annual_cap)


def _minimum(reader: _Reader, data: Any, path: str) -> Minimum:
    fields = reader.mapping(data, path, _MINIMUM_FIELDS, required=("amount",))
    amount = reader.money(fields.get("amount"), _join(path, "amount"))
    raw = fields.get("categories")
    categories = None if raw is None else reader.categories(raw, _join(path, "categories"))
    return Minimum(amount, categories)


def _versions(reader: _Reader, data: Any, path: str) -> list[tuple[str, PricingVersion]]:
    """The versions with the path each came from, in effective order."""
    if data is None:
        return []
    if not isinstance(data, list):
        reader.fail(path, f"must be a list of pricing versions, got {_kind(data)}")
        return []
    versions: list[tuple[str, PricingVersion]] = []
    seen: dict[date, str] = {}
    for index, item in enumerate(data):
        item_path = f"{path}[{index}]"
        version = reader.attempt(_version, reader, item, item_path)
        if version is None:
            continue
        day = version.effective_from
        if day in seen:
            reader.fail(
                _join(item_path, "effective_from"), f"{day.isoformat()} is also the date of {seen[day]}"
            )
            continue
        seen[day] = item_path
        versions.append((item_path, version))
    return sorted(versions, key=lambda pair: pair[1].effective_from)


def _site(reader: _Reader, data: Any, path: str) -> tuple[Site, list[tuple[str, PricingVersion]]]:
    fields = reader.mapping(data, path, _SITE_FIELDS, required=("id",))
    site_id = reader.text(fields.get("id"), _join(path, "id"))
    name = reader.attempt(reader.text, fields.get("name", site_id), _join(path, "name")) or site_id
    window: dict[str, date | None] = {}
    for key in ("active_from", "active_until"):
        raw = fields.get(key)
        window[key] = None if raw is None else reader.attempt(reader.day, raw, _join(path, key))
    active_from, active_until = window["active_from"], window["active_until"]
    if active_from is not None and active_until is not None and active_until <= active_from:
        reader.fail(
            _join(path, "active_until"),
            f"{active_until.isoformat()} is not after active_from {active_from.isoformat()}",
        )
    pricing = _versions(reader, fields.get("pricing"), _join(path, "pricing"))
    return Site(site_id, name, active_from, active_until, tuple(v for _, v in pricing)), pricing


def _check_minimum_categories(
    reader: _Reader, versions: list[tuple[str, PricingVersion]], priced: set[str]
) -> None:
    """Minimum categories must be priced somewhere for the site, or the minimum can never be met."""
    for path, version in versions:
        minimum = version.minimum
        if not isinstance(minimum, Minimum) or minimum.categories is None:
            continue
        for position, category in enumerate(minimum.categories):
            if category not in priced:
                reader.fail(
                    f"{path}.minimum.categories[{position}]",
                    f"category {category!r} has no rate in any pricing version of this site or the defaults",
                )


def _rated(versions: Iterable[tuple[str, PricingVersion]]) -> set[str]:
    return {
        category for _, version in versions for category, rate in version.rates.items() if rate is not None
    }


def parse_contract(data: Any, source: str = "contract.yaml") -> Contract:
    """Validate and build a Contract; raises ContractError listing every issue found."""
    reader = _Reader(source)
    contract = reader.attempt(_contract, reader, data)
    if reader.issues or contract is None:
        raise ContractError(reader.issues)
    return contract


def _contract(reader: _Reader, data: Any) -> Contract:
    fields = reader.mapping(
        data, "", _CONTRACT_FIELDS, required=("tenant", "currency", "contract_start", "sites")
    )
    tenant = reader.attempt(reader.text, fields.get("tenant"), "tenant")
    name = reader.attempt(reader.text, fields.get("name", tenant or "?"), "name")
    currency_code = fields.get("currency")
    if isinstance(currency_code, str) and currency_code in CURRENCIES:
        reader.currency = CURRENCIES[currency_code]
    elif "currency" in fields:
        reader.fail(
            "currency", f"unknown currency {currency_code!r} (known: {', '.join(sorted(CURRENCIES))})"
        )
    contract_start = reader.attempt(
        reader.day, fields.get("contract_start"), "contract_start", month_start=True
    )
    timezone = fields.get("timezone")
    timezone = "UTC" if timezone is None else timezone
    reader.attempt(_check_zone, reader, timezone)
    defaults = _versions(reader, fields.get("defaults"), "defaults")
    raw_sites = fields.get("sites")
    if not isinstance(raw_sites, list):
        if raw_sites is not None:
            reader.fail("sites", f"must be a list of sites, got {_kind(raw_sites)}")
        raw_sites = []
    sites: list[tuple[Site, list[tuple[str, PricingVersion]]]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(raw_sites):
        parsed = reader.attempt(_site, reader, item, f"sites[{index}]")
        if parsed is None:
            continue
        site_id = parsed[0].id
        if site_id in seen:
            reader.fail(f"sites[{index}].id", f"duplicate site id {site_id!r} (also sites[{seen[site_id]}])")
            continue
        seen[site_id] = index
        sites.append(parsed)
    default_rated = _rated(defaults)
    _check_minimum_categories(reader, defaults, default_rated.union(*(_rated(p) for _, p in sites)))
    for _, pricing in sites:
        _check_minimum_categories(reader, pricing, default_rated | _rated(pricing))
    if tenant is None or name is None or reader.currency is None or contract_start is None:
        raise _Invalid()
    return Contract(
        tenant=tenant,
        name=name,
        currency=reader.currency.code,
        contract_start=contract_start,
        timezone=timezone,
        defaults=tuple(v for _, v in defaults),
        sites=tuple(site for site, _ in sites),
    )


def _check_zone(reader: _Reader, name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise reader.fail("timezone", f"must be an IANA time zone name, got {_kind(name)}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise reader.fail("timezone", f"unknown time zone {name!r}") from None


def _plain(number: Decimal) -> str:
    return format(number, "f")


def _version_data(version: PricingVersion) -> dict[str, Any]:
    data: dict[str, Any] = {"effective_from": version.effective_from.isoformat()}
    if version.rates:
        data["rates"] = {c: None if r is None else _plain(r) for c, r in sorted(version.rates.items())}
    if not isinstance(version.disabled, Inherit):
        data["disabled"] = sorted(version.disabled)
    if not isinstance(version.minimum, Inherit):
        data["minimum"] = None if version.minimum is None else _minimum_data(version.minimum)
    if not isinstance(version.annual_cap, Inherit):
        data["annual_cap"] = None if version.annual_cap is None else _plain(version.annual_cap)
    return data


def _minimum_data(minimum: Minimum) -> dict[str, Any]:
    data: dict[str, Any] = {"amount": _plain(minimum.amount)}
    if minimum.categories is not None:
        data["categories"] = list(minimum.categories)
    return data


def contract_to_data(contract: Contract) -> dict[str, Any]:
    """The contract as plain data (dates and decimals as strings) that parse_contract loads
    back to an equal Contract; unstated version fields are omitted, removals are None."""
    return {
        "tenant": contract.tenant,
        "name": contract.name,
        "currency": contract.currency,
        "contract_start": contract.contract_start.isoformat(),
        "timezone": contract.timezone,
        "defaults": [_version_data(v) for v in contract.defaults],
        "sites": [
            {
                "id": site.id,
                "name": site.name,
                "active_from": site.active_from.isoformat() if site.active_from else None,
                "active_until": site.active_until.isoformat() if site.active_until else None,
                "pricing": [_version_data(v) for v in site.pricing],
            }
            for site in contract.sites
        ],
    }
