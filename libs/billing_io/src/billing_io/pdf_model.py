"""A validated, read-only view of the canonical invoice JSON for the PDF layout.

Reading the dict once, up front, means a malformed invoice fails with the path of
the offending field before any page is drawn. Amounts stay the decimal strings of
the JSON: the renderer formats them, it never recomputes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from billing_io.pdf_errors import InvoiceRenderError
from billing_io.pdf_money import parse_decimal

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class LineView:
    kind: str
    category: str | None
    period: str | None
    quantity: str | None
    unit_price: str | None
    amount: str
    billed: bool
    explanation: str


@dataclass(frozen=True)
class SiteView:
    site: str
    name: str | None
    total: str
    billed_to_date: str | None
    cap_remaining: str | None
    lines: tuple[LineView, ...]


@dataclass(frozen=True)
class TotalsView:
    usage: str
    minimum_shortfall: str
    cap_credit: str
    prior_period_adjustment: str
    total: str
    credit: str | None = None
    """Stated amounts given back (credit notes only)."""


@dataclass(frozen=True)
class VerificationView:
    sum_of_site_totals: str
    sum_of_components: str
    line_count: int
    event_count: int | None
    checksum: str


@dataclass(frozen=True)
class UnbillableView:
    site: str
    category: str
    period: str
    quantity: str
    events: int | None
    reason: str


@dataclass(frozen=True)
class InvoiceView:
    number: str
    tenant: str
    tenant_name: str | None
    period: str
    currency: str
    status: str
    document_type: str
    references: str | None
    total: str
    sites: tuple[SiteView, ...]
    totals: TotalsView
    category_totals: tuple[tuple[str, str], ...]
    verification: VerificationView
    unbillable: tuple[UnbillableView, ...] = ()
    reason: str | None = None
    """Why a credit note was issued (credit notes only)."""

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == "credit_note"


def _field(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise InvoiceRenderError(f"{where}: missing field '{key}'")
    return data[key]


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(data, key, where)
    if not isinstance(value, str) or not value:
        raise InvoiceRenderError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def _optional_text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvoiceRenderError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _amount(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(data, key, where)
    parse_decimal(value, f"{where}.{key}")
    return str(value)


def _optional_amount(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    parse_decimal(value, f"{where}.{key}")
    return str(value)


def _count(data: Mapping[str, Any], key: str, where: str, *, required: bool) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvoiceRenderError(f"{where}.{key}: expected a non-negative integer, got {value!r}")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvoiceRenderError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _sequence(value: Any, where: str) -> Sequence[Any]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise InvoiceRenderError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _line(raw: Any, where: str) -> LineView:
    data = _mapping(raw, where)
    billed = data.get("billed", True)
    if not isinstance(billed, bool):
        raise InvoiceRenderError(f"{where}.billed: expected true or false, got {billed!r}")
    return LineView(
        kind=_text(data, "kind", where),
        category=_optional_text(data, "category", where),
        period=_optional_text(data, "period", where),
        quantity=_optional_amount(data, "quantity", where),
        unit_price=_optional_amount(data, "unit_price", where),
        amount=_amount(data, "amount", where),
        billed=billed,
        explanation=_optional_text(data, "explanation", where) or "",
    )


def _site(raw: Any, where: str) -> SiteView:
    data = _mapping(raw, where)
    lines = _sequence(_field(data, "lines", where), f"{where}.lines")
    return SiteView(
        site=_text(data, "site", where),
        name=_optional_text(data, "name", where),
        total=_amount(data, "total", where),
        billed_to_date=_optional_amount(data, "billed_to_date", where),
        cap_remaining=_optional_amount(data, "cap_remaining", where),
        lines=tuple(_line(line, f"{where}.lines[{index}]") for index, line in enumerate(lines)),
    )


def _category_totals(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Per-category totals as billing_core publishes them (optional: older invoices lack them)."""
    summary = data.get("summary")
    raw = summary.get("categories") if isinstance(summary, Mapping) else None
    where = "summary.categories"
    if raw is None:
        raw, where = data.get("category_totals"), "category_totals"
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        items = [(str(key), value) for key, value in raw.items()]
    else:
        items = []
        for index, entry in enumerate(_sequence(raw, where)):
            entry_map = _mapping(entry, f"{where}[{index}]")
            items.append((_text(entry_map, "category", f"{where}[{index}]"), entry_map.get("amount")))
    result = []
    for category, value in items:
        parse_decimal(value, f"{where}.{category}")
        result.append((category, str(value)))
    return tuple(result)


def _unbillable(data: Mapping[str, Any]) -> tuple[UnbillableView, ...]:
    """Usage that was metered but could not be priced: shown so nothing disappears silently."""
    raw = data.get("unbillable") or []
    result = []
    for index, entry in enumerate(_sequence(raw, "invoice.unbillable")):
        where = f"invoice.unbillable[{index}]"
        item = _mapping(entry, where)
        result.append(
            UnbillableView(
                site=_text(item, "site", where),
                category=_text(item, "category", where),
                period=_text(item, "period", where),
                quantity=_amount(item, "quantity", where),
                events=_count(item, "events", where, required=False),
                reason=_optional_text(item, "reason", where) or "",
            )
        )
    return tuple(result)


def read_invoice(invoice: Mapping[str, Any]) -> InvoiceView:
    data = _mapping(invoice, "invoice")
    period = _text(data, "period", "invoice")
    if not _PERIOD.match(period):
        raise InvoiceRenderError(f"invoice.period: expected YYYY-MM, got {period!r}")
    sites = _sequence(_field(data, "sites", "invoice"), "invoice.sites")
    totals = _mapping(_field(data, "totals", "invoice"), "invoice.totals")
    verification = _mapping(_field(data, "verification", "invoice"), "invoice.verification")
    if data.get("document_type") == "credit_note":  # a credit note always names what it corrects
        _text(data, "references", "invoice")
    return InvoiceView(
        number=_text(data, "number", "invoice"),
        tenant=_text(data, "tenant", "invoice"),
        tenant_name=_optional_text(data, "tenant_name", "invoice"),
        period=period,
        currency=_text(data, "currency", "invoice"),
        status=_optional_text(data, "status", "invoice") or "draft",
        document_type=_optional_text(data, "document_type", "invoice") or "invoice",
        references=_optional_text(data, "references", "invoice"),
        total=_amount(data, "total", "invoice"),
        sites=tuple(_site(site, f"invoice.sites[{index}]") for index, site in enumerate(sites)),
        totals=TotalsView(
            usage=_amount(totals, "usage", "invoice.totals"),
            minimum_shortfall=_amount(totals, "minimum_shortfall", "invoice.totals"),
            cap_credit=_amount(totals, "cap_credit", "invoice.totals"),
            prior_period_adjustment=_amount(totals, "prior_period_adjustment", "invoice.totals"),
            total=_amount(totals, "total", "invoice.totals"),
            credit=_optional_amount(totals, "credit", "invoice.totals"),
        ),
        reason=_optional_text(data, "reason", "invoice"),
        category_totals=_category_totals(data),
        unbillable=_unbillable(data),
        verification=VerificationView(
            sum_of_site_totals=_amount(verification, "sum_of_site_totals", "invoice.verification"),
            sum_of_components=_amount(verification, "sum_of_components", "invoice.verification"),
            line_count=_count(verification, "line_count", "invoice.verification", required=True) or 0,
            event_count=_count(verification, "event_count", "invoice.verification", required=False),
            checksum=_text(verification, "checksum", "invoice.verification"),
        ),
    )
