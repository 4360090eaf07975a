"""The flowables of an invoice: cover and summary, one section per site, verification.

Every figure shown is a string taken from the canonical invoice JSON; this module
only decides where it goes and how it is formatted.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    LongTable,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
)

from billing_io.pdf_model import InvoiceView, LineView, SiteView
from billing_io.pdf_money import format_money, format_quantity, format_signed_money, parse_decimal
from billing_io.pdf_styles import (
    ACCENT,
    ACCENT_LIGHT,
    BAD,
    GOOD,
    INK,
    MUTED,
    RULE,
    InvoiceStyles,
    grid_table_style,
)

_KIND_LABELS = {
    "usage": "Usage",
    "minimum_shortfall": "Minimum shortfall",
    "cap_credit": "Annual cap credit",
    "prior_period_adjustment": "Prior-period adjustment",
    "credit": "Credit",
}


@dataclass(frozen=True)
class Issuer:
    """Who issues the invoice, as printed on its first page and running header."""

    name: str = "Billing Platform Ltd"
    address: tuple[str, ...] = ()
    contact: str | None = None
    tax_id: str | None = None
    payment_terms: str | None = None


@dataclass(frozen=True)
class RenderContext:
    invoice: InvoiceView
    issuer: Issuer
    issue_date: date
    due_date: date
    styles: InvoiceStyles
    width: float
    page_height: float

    def money(self, value: str, where: str) -> str:
        return format_money(value, self.invoice.currency, where)


def format_day(day: date) -> str:
    return f"{day.day} {calendar.month_name[day.month]} {day.year}"


def period_label(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    return f"{calendar.month_name[month]} {year}"


def period_range(period: str) -> str:
    year, month = (int(part) for part in period.split("-"))
    last = calendar.monthrange(year, month)[1]
    return f"{format_day(date(year, month, 1))} – {format_day(date(year, month, last))}"


def _para(text: str, style: object) -> Paragraph:
    return Paragraph(escape(text), style)


def _fit(text: str, ctx: RenderContext, width: float, *, small: bool = False) -> str | Paragraph:
    """Plain strings are far cheaper to lay out; wrap in a Paragraph only when the text would overflow."""
    style = ctx.styles.small if small else ctx.styles.body
    if stringWidth(text, style.fontName, style.fontSize) <= width - 10:
        return text
    return _para(text, style)


def cover(ctx: RenderContext) -> list[Flowable]:
    inv, styles, issuer = ctx.invoice, ctx.styles, ctx.issuer
    issuer_lines: list[Flowable] = [_para(issuer.name, styles.issuer_name)]
    issuer_lines += [_para(line, styles.small) for line in issuer.address]
    if issuer.contact:
        issuer_lines.append(_para(issuer.contact, styles.small))
    if issuer.tax_id:
        issuer_lines.append(_para(f"Tax ID {issuer.tax_id}", styles.small))
    is_credit = inv.is_credit_note
    title: list[Flowable] = [
        _para("CREDIT NOTE" if is_credit else "INVOICE", styles.title),
        Paragraph(f"<b>{escape(inv.number)}</b>", styles.small_right),
    ]
    head = Table([[issuer_lines, title]], colWidths=[ctx.width * 0.6, ctx.width * 0.4])
    head.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ]
    )

    bill_to: list[Flowable] = [
        _para("BILL TO", styles.label),
        _para(inv.tenant_name or inv.tenant, styles.subheading),
    ]
    bill_to.append(_para(f"Tenant ID: {inv.tenant}", styles.small))
    details = [
        ("Invoice number" if not is_credit else "Credit note number", inv.number),
        ("Billing period", f"{period_label(inv.period)} ({inv.period})"),
        ("Service dates", period_range(inv.period)),
        ("Issue date", format_day(ctx.issue_date)),
        ("Due date", format_day(ctx.due_date)),
        ("Currency", inv.currency),
        ("Status", inv.status.capitalize()),
    ]
    if is_credit:  # not payable: no due date, but the invoice it corrects and why
        details = [row for row in details if row[0] != "Due date"]
    if inv.references:
        details.append(("Credits invoice", inv.references))
    if inv.reason:
        details.append(("Reason", inv.reason))
    detail_rows = [[_para(label, styles.label), _para(value, styles.body)] for label, value in details]
    detail_table = Table(detail_rows, colWidths=[ctx.width * 0.17, ctx.width * 0.33])
    detail_table.setStyle(
        [
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 1),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ]
    )
    parties = Table([[bill_to, detail_table]], colWidths=[ctx.width * 0.5, ctx.width * 0.5])
    parties.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ]
    )

    due_label = "Total credited" if is_credit else "Amount due"
    due_note = (
        f"Reduces the amount owed on invoice {inv.references}"
        if is_credit
        else f"Payable by {format_day(ctx.due_date)}"
    )
    due = Table(
        [
            [_para(due_label, styles.subheading), ctx.money(inv.total, "invoice.total")],
            [_para(due_note, styles.small), ""],
        ],
        colWidths=[ctx.width * 0.6, ctx.width * 0.4],
    )
    due.setStyle(
        [
            ("BACKGROUND", (0, 0), (-1, -1), ACCENT_LIGHT),
            ("LINEBEFORE", (0, 0), (0, -1), 3, ACCENT),
            ("FONT", (1, 0), (1, 0), styles.fonts.bold, 18),
            ("TEXTCOLOR", (1, 0), (1, 0), ACCENT),
            ("ALIGN", (1, 0), (1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("SPAN", (1, 0), (1, 1)),
            ("LEFTPADDING", (0, 0), (-1, -1), 10),
            ("RIGHTPADDING", (0, 0), (-1, -1), 10),
            ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ]
    )
    flowables: list[Flowable] = [head, Spacer(1, 14), parties, Spacer(1, 12), due]
    terms = issuer.payment_terms
    if is_credit:
        terms = (
            f"This credit note corrects invoice {inv.references}, which itself stays as issued. "
            "Amounts are negative: they are given back."
        )
    if terms:
        flowables += [Spacer(1, 4), _para(terms, styles.small)]
    return flowables


def summary(ctx: RenderContext) -> list[Flowable]:
    inv, styles = ctx.invoice, ctx.styles
    totals = inv.totals
    rows = [
        ["Component", "Amount"],
        ["Usage charges", ctx.money(totals.usage, "invoice.totals.usage")],
        [
            "Minimum commitment shortfalls",
            ctx.money(totals.minimum_shortfall, "invoice.totals.minimum_shortfall"),
        ],
        ["Annual cap credits", ctx.money(totals.cap_credit, "invoice.totals.cap_credit")],
        [
            "Prior-period adjustments",
            format_signed_money(
                totals.prior_period_adjustment, inv.currency, "invoice.totals.prior_period_adjustment"
            ),
        ],
        ["Grand total", ctx.money(totals.total, "invoice.totals.total")],
    ]
    if totals.credit is not None:
        rows.insert(-1, ["Stated credits", ctx.money(totals.credit, "invoice.totals.credit")])
    half = ctx.width * 0.5 - 6
    components = Table(rows, colWidths=[half * 0.62, half * 0.38])
    components.setStyle(grid_table_style(styles.fonts, numeric_from=1, total_row=True))

    side: Flowable
    if inv.category_totals:
        cat_rows: list[list[str]] = [["Category", "Amount"]]
        cat_rows += [
            [name, ctx.money(amount, f"category_totals.{name}")] for name, amount in inv.category_totals
        ]
        side = Table(cat_rows, colWidths=[half * 0.62, half * 0.38])
        side.setStyle(grid_table_style(styles.fonts, numeric_from=1, total_row=False))
    else:
        side = _para("Per-category totals are not part of this invoice's data.", styles.small)
    pair = Table([[components, side]], colWidths=[ctx.width * 0.5, ctx.width * 0.5])
    pair.setStyle(
        [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (0, -1), 6),
            ("RIGHTPADDING", (1, 0), (1, -1), 0),
            ("LEFTPADDING", (1, 0), (1, -1), 6),
        ]
    )
    heads = Table(
        [[_para("Summary", styles.heading), _para("Totals per category", styles.heading)]],
        colWidths=[ctx.width * 0.5, ctx.width * 0.5],
    )
    heads.setStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)])
    return [Spacer(1, 6), heads, pair, *site_overview(ctx)]


def site_overview(ctx: RenderContext) -> list[Flowable]:
    inv, styles = ctx.invoice, ctx.styles
    rows: list[list[str | Paragraph]] = [
        ["Site", "Lines", "Billed this contract year", "Cap remaining", "Site total"]
    ]
    widths = [0.32, 0.08, 0.24, 0.18, 0.18]
    for index, site in enumerate(inv.sites):
        where = f"invoice.sites[{index}]"
        rows.append(
            [
                _fit(site_title(site), ctx, ctx.width * widths[0]),
                str(len(site.lines)),
                _optional_money(ctx, site.billed_to_date, f"{where}.billed_to_date", "—"),
                _optional_money(ctx, site.cap_remaining, f"{where}.cap_remaining", _no_cap(ctx, "no cap")),
                ctx.money(site.total, f"{where}.total"),
            ]
        )
    rows.append(["Total", "", "", "", ctx.money(inv.total, "invoice.total")])
    table = LongTable(rows, colWidths=[ctx.width * w for w in widths], repeatRows=1)
    table.setStyle(grid_table_style(styles.fonts, numeric_from=1, total_row=True))
    return [CondPageBreak(80), _para("Totals per site", styles.heading), table]


def site_title(site: SiteView) -> str:
    return f"{site.site} — {site.name}" if site.name else site.site


def _no_cap(ctx: RenderContext, text: str) -> str:
    """A credit note does not restate caps, so an absent figure is unknown there, not 'no cap'."""
    return "—" if ctx.invoice.is_credit_note else text


def _optional_money(ctx: RenderContext, value: str | None, where: str, absent: str) -> str:
    return absent if value is None else ctx.money(value, where)


def _line_item(line: LineView) -> str:
    label = _KIND_LABELS.get(line.kind, line.kind.replace("_", " ").capitalize())
    parts = [label]
    if line.period:
        parts.append(line.period)
    if line.category:
        parts.append(line.category)
    text = " · ".join(parts)
    return text if line.billed else f"{text} (not billed)"


def site_section(ctx: RenderContext, index: int, site: SiteView) -> list[Flowable]:
    styles, currency = ctx.styles, ctx.invoice.currency
    where = f"invoice.sites[{index}]"
    widths = [0.27, 0.33, 0.12, 0.12, 0.16]
    col = [ctx.width * w for w in widths]
    rows: list[list[str | Paragraph]] = [["Item", "Explanation", "Quantity", "Unit price", "Amount"]]
    muted_rows: list[int] = []
    for line_index, line in enumerate(site.lines):
        line_where = f"{where}.lines[{line_index}]"
        rows.append(
            [
                _fit(_line_item(line), ctx, col[0]),
                _fit(line.explanation, ctx, col[1], small=True),
                "" if line.quantity is None else format_quantity(line.quantity, f"{line_where}.quantity"),
                ""
                if line.unit_price is None
                else format_money(line.unit_price, currency, f"{line_where}.unit_price"),
                format_money(line.amount, currency, f"{line_where}.amount"),
            ]
        )
        if not line.billed:
            muted_rows.append(line_index + 1)
    rows.append([f"Site total {site.site}", "", "", "", ctx.money(site.total, f"{where}.total")])
    table = LongTable(rows, colWidths=col, repeatRows=1)
    style = grid_table_style(styles.fonts, numeric_from=2, total_row=True)
    style.append(("TEXTCOLOR", (1, 1), (1, -2), MUTED))
    style.append(("FONTSIZE", (1, 1), (1, -2), 7.5))
    style += [("TEXTCOLOR", (0, row), (-1, row), MUTED) for row in muted_rows]
    table.setStyle(style)

    billed = _optional_money(ctx, site.billed_to_date, f"{where}.billed_to_date", "—")
    remaining = _optional_money(
        ctx, site.cap_remaining, f"{where}.cap_remaining", _no_cap(ctx, "no annual cap")
    )
    facts = Table(
        [
            [
                "Billed to date (contract year): " + billed,
                "Cap remaining: " + remaining,
            ]
        ],
        colWidths=[ctx.width * 0.55, ctx.width * 0.45],
    )
    facts.setStyle(
        [
            ("FONT", (0, 0), (-1, -1), styles.fonts.regular, 7.5),
            ("TEXTCOLOR", (0, 0), (-1, -1), MUTED),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("ALIGN", (1, 0), (1, 0), "RIGHT"),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
    )
    heading = Table(
        [[site_title(site), ctx.money(site.total, f"{where}.total")]],
        colWidths=[ctx.width * 0.7, ctx.width * 0.3],
    )
    heading.setStyle(
        [
            ("FONT", (0, 0), (-1, -1), styles.fonts.bold, 10),
            ("TEXTCOLOR", (0, 0), (-1, -1), INK),
            ("ALIGN", (1, 0), (1, 0), "RIGHT"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ("LINEBELOW", (0, 0), (-1, 0), 1.2, ACCENT),
            ("TOPPADDING", (0, 0), (-1, -1), 10),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]
    )
    block: list[Flowable] = [heading, facts, table]
    return [KeepTogether(block)] if len(site.lines) <= 25 else block


def site_sections(ctx: RenderContext) -> list[Flowable]:
    flowables: list[Flowable] = [
        CondPageBreak(ctx.page_height * 0.4),
        _para("Charges by site", ctx.styles.heading),
    ]
    if not ctx.invoice.sites:
        flowables.append(_para("No site has charges in this period.", ctx.styles.body))
    for index, site in enumerate(ctx.invoice.sites):
        flowables += site_section(ctx, index, site)
    return flowables


def unbillable_usage(ctx: RenderContext) -> list[Flowable]:
    """Metered usage that carries no charge on this invoice, with the reason, so none is lost from view."""
    entries = ctx.invoice.unbillable
    if not entries:
        return []
    widths = [0.18, 0.16, 0.11, 0.14, 0.1, 0.31]
    col = [ctx.width * w for w in widths]
    rows: list[list[str | Paragraph]] = [["Site", "Category", "Period", "Quantity", "Events", "Reason"]]
    for index, entry in enumerate(entries):
        rows.append(
            [
                _fit(entry.site, ctx, col[0]),
                _fit(entry.category, ctx, col[1]),
                entry.period,
                format_quantity(entry.quantity, f"invoice.unbillable[{index}].quantity"),
                "—" if entry.events is None else f"{entry.events:,}",
                _fit(entry.reason, ctx, col[5], small=True),
            ]
        )
    table = LongTable(rows, colWidths=col, repeatRows=1)
    style = grid_table_style(ctx.styles.fonts, numeric_from=3, total_row=False)
    style.append(("ALIGN", (5, 0), (5, -1), "LEFT"))
    table.setStyle(style)
    note = _para(
        "This usage was metered but not priced (for example a site or category without pricing in force). "
        "It is kept and will be billed once the configuration exists.",
        ctx.styles.small,
    )
    return [CondPageBreak(120), _para("Usage not billed", ctx.styles.heading), note, Spacer(1, 4), table]


def _check(ctx: RenderContext, value: str, where: str) -> str:
    """A mark telling whether a verification figure equals the grand total (a comparison, not a sum)."""
    agrees = parse_decimal(value, where) == parse_decimal(ctx.invoice.total, "invoice.total")
    return "✓ equals grand total" if agrees else "✗ differs from grand total"


def verification(ctx: RenderContext) -> list[Flowable]:
    inv, styles = ctx.invoice, ctx.styles
    ver = inv.verification
    rows: list[Sequence[str | Paragraph]] = [
        ["Check", "Value", "Result"],
        ["Grand total", ctx.money(inv.total, "invoice.total"), ""],
        [
            "Sum of site totals",
            ctx.money(ver.sum_of_site_totals, "invoice.verification.sum_of_site_totals"),
            _check(ctx, ver.sum_of_site_totals, "invoice.verification.sum_of_site_totals"),
        ],
        [
            "Sum of components",
            ctx.money(ver.sum_of_components, "invoice.verification.sum_of_components"),
            _check(ctx, ver.sum_of_components, "invoice.verification.sum_of_components"),
        ],
        ["Sites", str(len(inv.sites)), ""],
        ["Invoice lines", f"{ver.line_count:,}", ""],
        ["Distinct events rated", "—" if ver.event_count is None else f"{ver.event_count:,}", ""],
    ]
    table = Table(rows, colWidths=[ctx.width * 0.35, ctx.width * 0.3, ctx.width * 0.35])
    style = grid_table_style(styles.fonts, numeric_from=1, total_row=False)
    style.append(("ALIGN", (2, 0), (2, -1), "LEFT"))
    for row_index, row in enumerate(rows[1:], start=1):
        result = str(row[2])
        if result:
            style.append(
                ("TEXTCOLOR", (2, row_index), (2, row_index), GOOD if result.startswith("✓") else BAD)
            )
    table.setStyle(style)
    checksum = Table(
        [[_para("Checksum of the canonical invoice JSON", styles.label)], [_para(ver.checksum, styles.mono)]],
        colWidths=[ctx.width],
    )
    checksum.setStyle(
        [
            ("BOX", (0, 0), (-1, -1), 0.6, RULE),
            ("BACKGROUND", (0, 0), (-1, -1), colors.white),
            ("LEFTPADDING", (0, 0), (-1, -1), 6),
            ("TOPPADDING", (0, 0), (-1, -1), 4),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
    )
    document = "credit note" if inv.is_credit_note else "invoice"
    note = _para(
        f"These figures let the {document} be checked independently: the site totals and the summary "
        f"components each add up to the grand total, and the checksum identifies the exact {document} data "
        "this document was produced from.",
        styles.small,
    )
    return [
        PageBreak(),
        _para("Verification", styles.heading),
        note,
        Spacer(1, 8),
        table,
        Spacer(1, 12),
        checksum,
    ]
