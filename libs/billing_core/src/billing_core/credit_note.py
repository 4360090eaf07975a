"""Credit notes: the only way to correct an issued invoice, which itself never changes.

A credit note names the invoice it corrects and why. Per site it either reverses every
billed line of the invoice (each amount negated, so no amount is ever rounded again) or
gives back one stated amount. What was credited lowers the site's billed-to-date of the
contract year each amount belonged to, so later invoices see the cap room it frees. The
rated charges of the period stay as they were: a credit is a deliberate concession, and
re-rating the period later must not bill the credited usage again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from .invoice import (
    CAP_CREDIT,
    MINIMUM_SHORTFALL,
    PRIOR_PERIOD_ADJUSTMENT,
    USAGE,
    DocumentTotals,
    Invoice,
    Line,
)
from .invoice_json import COMPONENTS, document_figures, invoice_checksum, line_data
from .ledger import BillingLedger
from .money import Currency, currency_of, exact_add, format_amount
from .periods import ContractYear, Period

__all__ = [
    "CREDIT",
    "CREDIT_NOTE_DOCUMENT_TYPE",
    "CreditLimitError",
    "CreditLine",
    "CreditNote",
    "CreditNoteError",
    "CreditSite",
    "SiteCredit",
    "credit_invoice",
    "credit_note_from_data",
    "credit_note_to_data",
    "record_credit_note",
]

CREDIT = "credit"
"""Line kind of a stated amount given back for a site (not tied to one invoice line)."""
CREDIT_NOTE_DOCUMENT_TYPE = "credit_note"

_KINDS = (USAGE, MINIMUM_SHORTFALL, CAP_CREDIT, PRIOR_PERIOD_ADJUSTMENT, CREDIT)
_OWN_YEAR_KINDS = (USAGE, MINIMUM_SHORTFALL, CREDIT)
"""Kinds whose amount belongs to the contract year of the credited period; the others name theirs."""


class CreditNoteError(ValueError):
    """A credit note that may not be issued (unknown site, bad amount, no reason...)."""


class CreditLimitError(CreditNoteError):
    """The credit would give back more than the invoice (or one of its sites) billed, counting
    the credit notes already issued: a conflict with what exists, not a malformed request."""


@dataclass(frozen=True)
class SiteCredit:
    """What to credit for one site: every billed line when ``amount`` is None, else that amount."""

    site: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class CreditLine:
    """One credit note line; amounts are negative (a reversed cap credit is positive)."""

    kind: str
    amount: Decimal
    explanation: str
    category: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    period: Period | None = None
    contract_year: str | None = None

    @property
    def billed(self) -> bool:
        """Every credit line counts: it gives back an amount that was billed."""
        return True


@dataclass(frozen=True)
class CreditSite:
    site: str
    lines: tuple[CreditLine, ...]
    contract_year: str
    """Contract year of the credited period."""
    billed_to_date: Decimal
    """The site's net billed amount for that contract year once this credit note is counted."""
    reversal: bool
    """True when every billed line of the invoice's site is reversed, False for a stated amount."""
    name: str = ""

    @property
    def total(self) -> Decimal:
        return exact_add(*(line.amount for line in self.lines))

    def amount_of(self, kind: str) -> Decimal:
        return exact_add(*(line.amount for line in self.lines if line.kind == kind))


@dataclass(frozen=True)
class CreditNote(DocumentTotals):
    """A credit note against one issued invoice. Number, status and dates come from the caller."""

    number: str
    tenant: str
    invoice_number: str
    period: Period
    """The credited invoice's period."""
    currency: str
    reason: str
    sites: tuple[CreditSite, ...]
    contract_year: str = ""
    status: str = "draft"
    issue_date: date | None = None
    invoice_total: Decimal = Decimal(0)
    credited_before: Decimal = Decimal(0)
    """Sum of the invoice's earlier credit notes (zero or negative)."""


def _year_start(label: str | None, where: str) -> Period:
    if not label:
        raise CreditNoteError(f"{where} names no contract year")
    return ContractYear.from_label(label).start


def _line_year(line: CreditLine, site_year: str, where: str) -> Period:
    label = site_year if line.kind in _OWN_YEAR_KINDS else line.contract_year
    return _year_start(label, f"{where} {line.kind} line")


def _net_by_year(lines: Iterable[CreditLine], site_year: str, where: str) -> dict[Period, Decimal]:
    net: dict[Period, Decimal] = {}
    for line in lines:
        year = _line_year(line, site_year, where)
        net[year] = exact_add(net.get(year, Decimal(0)), line.amount)
    return net


def record_credit_note(ledger: BillingLedger, note: CreditNote) -> BillingLedger:
    """A new ledger in which the credited amounts no longer count as billed for their contract years.

    Invoiced periods and their rated charges are kept, so late usage is still measured against
    what was rated, and the credited usage is never billed again by a later adjustment.
    """
    billed = dict(ledger.billed)
    for site in note.sites:
        where = f"credit note {note.number} site {site.site}"
        for year, amount in _net_by_year(site.lines, site.contract_year, where).items():
            billed[(site.site, year)] = exact_add(billed.get((site.site, year), Decimal(0)), amount)
    return BillingLedger(
        invoiced=ledger.invoiced, charges=ledger.charges, billed=billed, unbillable=ledger.unbillable
    )


def _reversal_lines(lines: Iterable[Line]) -> tuple[CreditLine, ...]:
    return tuple(
        CreditLine(
            kind=line.kind,
            amount=-line.amount,
            explanation=f"reverses: {line.explanation}" if line.explanation else "reversal",
            category=line.category,
            quantity=None if line.quantity is None else -line.quantity,
            unit_price=line.unit_price,
            period=line.period,
            contract_year=line.contract_year,
        )
        for line in lines
        if line.billed
    )


def _stated_amount(amount: Decimal, currency: Currency, where: str) -> Decimal:
    if not amount.is_finite() or amount <= 0:
        raise CreditNoteError(f"{where}: the amount to credit must be above zero, got {amount}")
    if amount != amount.quantize(currency.quantum):
        raise CreditNoteError(
            f"{where}: {amount} has more than the {currency.minor_units} decimals of {currency.code}"
        )
    return amount.quantize(currency.quantum)


def _earlier_by_site(invoice: Invoice, earlier: Sequence[CreditNote]) -> dict[str, list[CreditSite]]:
    by_site: dict[str, list[CreditSite]] = {}
    for note in earlier:
        if note.invoice_number != invoice.number:
            raise CreditNoteError(
                f"credit note {note.number} credits {note.invoice_number}, not {invoice.number}"
            )
        for site in note.sites:
            by_site.setdefault(site.site, []).append(site)
    return by_site


def credit_invoice(
    invoice: Invoice,
    *,
    number: str,
    reason: str,
    ledger: BillingLedger,
    sites: Sequence[SiteCredit] | None = None,
    earlier: Sequence[CreditNote] = (),
    status: str = "draft",
    issue_date: date | None = None,
) -> CreditNote:
    """The credit note correcting an issued invoice; CreditNoteError says why one cannot be issued.

    ``sites`` None reverses every site with billed lines that no earlier credit note touched.
    ``earlier`` are the invoice's credit notes already issued; together with this one they may
    never give back more than the invoice billed, in total or for any site. ``ledger`` holds every
    issued invoice and credit note of the tenant and gives the billed-to-date stated per site.
    """
    reason = reason.strip()
    if not reason:
        raise CreditNoteError(f"a credit note for {invoice.number} needs a reason")
    if invoice.status != "issued":
        raise CreditNoteError(f"{invoice.number} is {invoice.status}, only an issued invoice can be credited")
    currency = currency_of(invoice.currency)
    sections = {section.site: section for section in invoice.sites}
    credited = _earlier_by_site(invoice, earlier)
    if sites is None:
        sites = [
            SiteCredit(section.site)
            for section in invoice.sites
            if section.site not in credited and any(line.billed for line in section.lines)
        ]
        if not sites:
            raise CreditLimitError(f"{invoice.number} has no site left to credit in full")
    seen: set[str] = set()
    result: list[CreditSite] = []
    for request in sites:
        where = f"credit of {invoice.number} site {request.site}"
        section = sections.get(request.site)
        if section is None:
            raise CreditNoteError(f"{where}: the invoice has no such site")
        if request.site in seen:
            raise CreditNoteError(f"{where}: the site is named twice")
        seen.add(request.site)
        before = exact_add(*(site.total for site in credited.get(request.site, [])))
        if request.amount is None:
            if request.site in credited:
                remaining = format_amount(section.total + before, currency)
                raise CreditLimitError(
                    f"{where}: already credited {format_amount(-before, currency)}, so its lines cannot "
                    f"be reversed again; credit a stated amount of at most {remaining} instead"
                )
            lines = _reversal_lines(section.lines)
            if not lines:
                raise CreditNoteError(f"{where}: the site has no billed line to reverse")
        else:
            amount = _stated_amount(request.amount, currency, where)
            remaining_amount = section.total + before
            if amount > remaining_amount:
                raise CreditLimitError(
                    f"{where}: {format_amount(amount, currency)} is more than the "
                    f"{format_amount(max(remaining_amount, Decimal(0)), currency)} left to credit "
                    f"(site total {format_amount(section.total, currency)}, "
                    f"credited before {format_amount(-before, currency)})"
                )
            lines = (CreditLine(kind=CREDIT, amount=-amount, explanation=reason),)
        own_year = _year_start(section.contract_year, where)
        credited_in_year = _net_by_year(lines, section.contract_year, where).get(own_year, Decimal(0))
        billed_to_date = exact_add(ledger.billed.get((section.site, own_year), Decimal(0)), credited_in_year)
        result.append(
            CreditSite(
                site=section.site,
                name=section.name,
                contract_year=section.contract_year,
                lines=lines,
                billed_to_date=billed_to_date,
                reversal=request.amount is None,
            )
        )
    credited_before = exact_add(*(note.total for note in earlier))
    note = CreditNote(
        number=number,
        tenant=invoice.tenant,
        invoice_number=invoice.number,
        period=invoice.period,
        currency=invoice.currency,
        reason=reason,
        sites=tuple(result),
        contract_year=invoice.contract_year,
        status=status,
        issue_date=issue_date,
        invoice_total=invoice.total,
        credited_before=credited_before,
    )
    if note.total >= 0:
        raise CreditNoteError(
            f"credit of {invoice.number}: the sites chosen give back nothing "
            f"(credit note total {format_amount(note.total, currency)})"
        )
    left = invoice.total + credited_before
    if -note.total > left:
        raise CreditLimitError(
            f"credit of {invoice.number}: {format_amount(-note.total, currency)} is more than the "
            f"{format_amount(max(left, Decimal(0)), currency)} left to credit "
            f"(invoice total {format_amount(invoice.total, currency)}, "
            f"credited before {format_amount(-credited_before, currency)})"
        )
    return note


_COMPONENTS: tuple[tuple[str, str], ...] = (*COMPONENTS, ("credit", CREDIT))


def credit_note_to_data(note: CreditNote) -> dict[str, Any]:
    """The credit note as JSON-ready data in the invoice's shape (so the same verification and
    renderer apply), plus the reason and the credited invoice, with a checksum of its canonical JSON."""
    currency = currency_of(note.currency)
    money = partial(format_amount, currency=currency)
    summary, totals, verification = document_figures(note, _COMPONENTS, money)
    data: dict[str, Any] = {
        "document_type": CREDIT_NOTE_DOCUMENT_TYPE,
        "number": note.number,
        "references": note.invoice_number,
        "tenant": note.tenant,
        "period": str(note.period),
        "contract_year": note.contract_year,
        "currency": note.currency,
        "status": note.status,
        "issue_date": note.issue_date.isoformat() if note.issue_date else None,
        "reason": note.reason,
        "credited_invoice": {
            "number": note.invoice_number,
            "total": money(note.invoice_total),
            "credited_before": money(-note.credited_before),
            "credited_after": money(-(note.credited_before + note.total)),
        },
        "total": money(note.total),
        "summary": summary,
        "sites": [
            {
                "site": site.site,
                "name": site.name,
                "contract_year": site.contract_year,
                "reversal": site.reversal,
                "total": money(site.total),
                "billed_to_date": money(site.billed_to_date),
                "lines": [line_data(line, currency, billed=True) for line in site.lines],
            }
            for site in note.sites
        ],
        "totals": totals,
        "verification": verification,
    }
    data["verification"]["checksum"] = invoice_checksum(data)
    return data


def _decimal(value: Any, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise CreditNoteError(f"{where}: {value!r} is not a decimal") from None


def _optional_decimal(value: Any, where: str) -> Decimal | None:
    return None if value is None else _decimal(value, where)


def _credit_line(data: Mapping[str, Any], where: str) -> CreditLine:
    kind = data.get("kind")
    if kind not in _KINDS:
        raise CreditNoteError(f"{where}.kind: unknown line kind {kind!r}")
    return CreditLine(
        kind=str(kind),
        amount=_decimal(data.get("amount"), f"{where}.amount"),
        explanation=str(data.get("explanation", "")),
        category=data.get("category"),
        quantity=_optional_decimal(data.get("quantity"), f"{where}.quantity"),
        unit_price=_optional_decimal(data.get("unit_price"), f"{where}.unit_price"),
        period=Period.parse(data["period"]) if data.get("period") else None,
        contract_year=data.get("contract_year"),
    )


def credit_note_from_data(data: Mapping[str, Any]) -> CreditNote:
    """Rebuild a CreditNote from its JSON data (a stored issued one); refuses an invoice's JSON."""
    if data.get("document_type") != CREDIT_NOTE_DOCUMENT_TYPE:
        raise CreditNoteError(f"document {data.get('number')!r} is not a credit note")
    credited = data.get("credited_invoice") or {}
    return CreditNote(
        number=data["number"],
        tenant=data["tenant"],
        invoice_number=data["references"],
        period=Period.parse(data["period"]),
        currency=data["currency"],
        reason=data.get("reason", ""),
        contract_year=data.get("contract_year", ""),
        status=data.get("status", "draft"),
        issue_date=None if data.get("issue_date") is None else date.fromisoformat(data["issue_date"]),
        invoice_total=_decimal(credited.get("total", "0"), "credited_invoice.total"),
        credited_before=-_decimal(credited.get("credited_before", "0"), "credited_invoice.credited_before"),
        sites=tuple(
            CreditSite(
                site=site["site"],
                name=site.get("name", ""),
                contract_year=site.get("contract_year", ""),
                reversal=bool(site.get("reversal", True)),
                billed_to_date=_decimal(site.get("billed_to_date"), f"sites[{index}].billed_to_date"),
                lines=tuple(
                    _credit_line(line, f"sites[{index}].lines[{n}]")
                    for n, line in enumerate(site.get("lines", []))
                ),
            )
            for index, site in enumerate(data.get("sites", []))
        ),
    )
