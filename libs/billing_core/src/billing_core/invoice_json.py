"""Invoice JSON (formats §4), its canonical byte form and checksum, and verification.

Amounts are strings with exactly the currency's minor digits and quantities are plain
decimal strings, so the JSON never depends on a float and its bytes are reproducible.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any, Protocol, cast

from .invoice import (
    CAP_CREDIT,
    LINE_KINDS,
    MINIMUM_SHORTFALL,
    PRIOR_PERIOD_ADJUSTMENT,
    USAGE,
    DocumentTotals,
    Invoice,
    Line,
    LineKind,
    SiteSection,
    UnbillableUsage,
)
from .money import Currency, currency_of, exact_add, format_amount, format_quantity, format_unit_price
from .periods import Period

__all__ = [
    "canonical_json",
    "invoice_checksum",
    "invoice_from_data",
    "invoice_to_data",
    "verify_invoice_data",
]

COMPONENTS: tuple[tuple[str, LineKind], ...] = (
    ("usage", USAGE),
    ("minimum_shortfall", MINIMUM_SHORTFALL),
    ("cap_credit", CAP_CREDIT),
    ("prior_period_adjustment", PRIOR_PERIOD_ADJUSTMENT),
)


class LineFields(Protocol):
    """What a document line (an invoice's or a credit note's) shows in the JSON."""

    @property
    def kind(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def explanation(self) -> str: ...
    @property
    def category(self) -> str | None: ...
    @property
    def quantity(self) -> Decimal | None: ...
    @property
    def unit_price(self) -> Decimal | None: ...
    @property
    def period(self) -> Period | None: ...
    @property
    def contract_year(self) -> str | None: ...


def line_data(line: LineFields, currency: Currency, *, billed: bool) -> dict[str, Any]:
    """One line as JSON-ready data, in the same shape on invoices and credit notes."""
    data: dict[str, Any] = {"kind": line.kind}
    if line.period is not None:
        data["period"] = str(line.period)
    if line.contract_year is not None:
        data["contract_year"] = line.contract_year
    if line.category is not None:
        data["category"] = line.category
    if line.quantity is not None:
        data["quantity"] = format_quantity(line.quantity)
    if line.unit_price is not None:
        data["unit_price"] = format_unit_price(line.unit_price, currency)
    data["amount"] = format_amount(line.amount, currency)
    data["billed"] = billed
    data["explanation"] = line.explanation
    return data


def _site_data(section: SiteSection, currency: Currency) -> dict[str, Any]:
    money = partial(format_amount, currency=currency)
    return {
        "site": section.site,
        "name": section.name,
        "contract_year": section.contract_year,
        "total": money(section.total),
        "billed_to_date": money(section.billed_to_date),
        "cap_remaining": None if section.cap_remaining is None else money(section.cap_remaining),
        "lines": [line_data(line, currency, billed=line.billed) for line in section.lines],
    }


def document_figures(
    document: DocumentTotals, components: Sequence[tuple[str, str]], money: Callable[[Decimal], str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, Any]]:
    """The summary, totals and verification of an invoice or a credit note: one rule for both, so
    the same checks hold on either document."""
    categories = document.category_totals()
    summary = {
        "sites": {site.site: money(site.total) for site in document.sites},
        "categories": {category: money(amount) for category, amount in categories.items()},
    }
    totals = {name: money(document.amount_of(kind)) for name, kind in components}
    totals["total"] = money(document.total)
    verification = {
        "sum_of_site_totals": money(exact_add(*(site.total for site in document.sites))),
        "sum_of_components": money(
            exact_add(
                *categories.values(), *(document.amount_of(kind) for _, kind in components if kind != USAGE)
            )
        ),
        "line_count": document.line_count,
    }
    return summary, totals, verification


def invoice_to_data(invoice: Invoice) -> dict[str, Any]:
    """The invoice as JSON-ready data: amounts as strings with exactly the minor digits,
    quantities as plain decimal strings, including verification and checksum."""
    currency = currency_of(invoice.currency)
    money = partial(format_amount, currency=currency)
    summary, totals, verification = document_figures(invoice, COMPONENTS, money)
    data: dict[str, Any] = {
        "number": invoice.number,
        "tenant": invoice.tenant,
        "period": str(invoice.period),
        "contract_year": invoice.contract_year,
        "currency": invoice.currency,
        "status": invoice.status,
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "total": money(invoice.total),
        "summary": summary,
        "sites": [_site_data(section, currency) for section in invoice.sites],
        "unbillable": [
            {
                "site": item.site,
                "category": item.category,
                "period": str(item.period),
                "quantity": format_quantity(item.quantity),
                "events": item.events,
                "reason": item.reason,
            }
            for item in invoice.unbillable
        ],
        "totals": totals,
        "verification": {**verification, "event_count": invoice.event_count},
    }
    data["verification"]["checksum"] = invoice_checksum(data)
    return data


def canonical_json(data: Mapping[str, Any]) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8 — the bytes the checksum covers."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _without_checksum(data: Mapping[str, Any]) -> dict[str, Any]:
    stripped = dict(data)
    verification = stripped.get("verification")
    if isinstance(verification, Mapping):
        stripped["verification"] = {k: v for k, v in verification.items() if k != "checksum"}
    return stripped


def invoice_checksum(data: Mapping[str, Any]) -> str:
    """ "sha256:<hex>" of the canonical JSON of the invoice data without the checksum field."""
    return "sha256:" + hashlib.sha256(canonical_json(_without_checksum(data))).hexdigest()


def _amount(value: Any, currency: Currency | None, where: str, problems: list[str]) -> Decimal:
    if not isinstance(value, str):
        problems.append(f"{where}: amount must be a decimal string, got {value!r}")
        return Decimal(0)
    try:
        number = Decimal(value)
    except InvalidOperation:
        problems.append(f"{where}: {value!r} is not a decimal")
        return Decimal(0)
    if currency is not None and (not number.is_finite() or format_amount(number, currency) != value):
        problems.append(f"{where}: {value!r} does not have exactly {currency.minor_units} decimals")
    return number


def verify_invoice_data(data: Mapping[str, Any]) -> list[str]:
    """Problems found in invoice JSON data (checksum, sums, counts); empty when it is sound."""
    problems: list[str] = []
    try:
        currency: Currency | None = currency_of(str(data.get("currency")))
    except KeyError as exc:
        problems.append(str(exc))
        currency = None
    verification = data.get("verification")
    if not isinstance(verification, Mapping):
        return [*problems, "verification: missing"]
    if verification.get("checksum") != invoice_checksum(data):
        problems.append("verification.checksum: does not match the canonical JSON")
    total = _amount(data.get("total"), currency, "total", problems)
    site_totals: list[Decimal] = []
    line_count = 0
    for index, site in enumerate(data.get("sites") or []):
        where = f"sites[{index}]"
        lines = site.get("lines") or []
        line_count += len(lines)
        billed = [
            _amount(line.get("amount"), currency, f"{where}.lines[{i}].amount", problems)
            for i, line in enumerate(lines)
            if line.get("billed")
        ]
        site_total = _amount(site.get("total"), currency, f"{where}.total", problems)
        if exact_add(*billed) != site_total:
            problems.append(f"{where}.total: {site.get('total')} is not the sum of its billed lines")
        site_totals.append(site_total)
    checks = {
        "sum of site totals": exact_add(*site_totals),
        "verification.sum_of_site_totals": _amount(
            verification.get("sum_of_site_totals"), currency, "verification.sum_of_site_totals", problems
        ),
        "verification.sum_of_components": _amount(
            verification.get("sum_of_components"), currency, "verification.sum_of_components", problems
        ),
    }
    for name, value in checks.items():
        if value != total:
            problems.append(f"{name}: {value} differs from total {data.get('total')}")
    if verification.get("line_count") != line_count:
        problems.append(f"verification.line_count: {verification.get('line_count')} but {line_count} lines")
    return problems


def _optional_date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _line_from_data(data: Mapping[str, Any]) -> Line:
    kind = data["kind"]
    if kind not in LINE_KINDS:
        raise ValueError(f"unknown line kind {kind!r}")
    return Line(
        kind=cast(LineKind, kind),
        amount=Decimal(data["amount"]),
        billed=bool(data["billed"]),
        explanation=data.get("explanation", ""),
        category=data.get("category"),
        quantity=_optional_decimal(data.get("quantity")),
        unit_price=_optional_decimal(data.get("unit_price")),
        period=Period.parse(data["period"]) if data.get("period") else None,
        contract_year=data.get("contract_year"),
    )


def invoice_from_data(data: Mapping[str, Any]) -> Invoice:
    """Rebuild an Invoice from its JSON data (e.g. a stored issued invoice)."""
    return Invoice(
        number=data["number"],
        tenant=data["tenant"],
        period=Period.parse(data["period"]),
        currency=data["currency"],
        status=data.get("status", "draft"),
        issue_date=_optional_date(data.get("issue_date")),
        due_date=_optional_date(data.get("due_date")),
        contract_year=data.get("contract_year", ""),
        event_count=int(data.get("verification", {}).get("event_count", 0)),
        sites=tuple(
            SiteSection(
                site=site["site"],
                name=site.get("name", ""),
                contract_year=site.get("contract_year", ""),
                billed_to_date=Decimal(site["billed_to_date"]),
                cap_remaining=_optional_decimal(site.get("cap_remaining")),
                lines=tuple(_line_from_data(line) for line in site.get("lines", [])),
            )
            for site in data.get("sites", [])
        ),
        unbillable=tuple(
            UnbillableUsage(
                site=item["site"],
                category=item["category"],
                period=Period.parse(item["period"]),
                quantity=Decimal(item["quantity"]),
                events=int(item["events"]),
                reason=item["reason"],
            )
            for item in data.get("unbillable", [])
        ),
    )
