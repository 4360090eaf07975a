"""The short per-period table an offline run prints: figures as billing_core formatted them."""

from __future__ import annotations

from collections.abc import Sequence

from billing_core import (
    CAP_CREDIT,
    MINIMUM_SHORTFALL,
    PRIOR_PERIOD_ADJUSTMENT,
    USAGE,
    Invoice,
    LineKind,
    currency_of,
    format_amount,
)

__all__ = ["HEADERS", "invoice_row", "render_table"]

HEADERS = ("period", "number", "sites", "events", "usage", "shortfall", "cap credit", "adjustments", "total")


def invoice_row(invoice: Invoice) -> tuple[str, ...]:
    currency = currency_of(invoice.currency)

    def money(kind: LineKind) -> str:
        return format_amount(invoice.amount_of(kind), currency)

    return (
        str(invoice.period),
        invoice.number,
        str(len(invoice.sites)),
        str(invoice.event_count),
        money(USAGE),
        money(MINIMUM_SHORTFALL),
        money(CAP_CREDIT),
        money(PRIOR_PERIOD_ADJUSTMENT),
        format_amount(invoice.total, currency),
    )


def render_table(invoices: Sequence[Invoice]) -> str:
    """Text columns, left-aligned labels and right-aligned figures, currency in the title."""
    rows = [HEADERS, *(invoice_row(invoice) for invoice in invoices)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS))]
    text_columns = 2  # period and number read left to right; the rest are figures

    def line(row: Sequence[str]) -> str:
        cells = (
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        return "  ".join(cells).rstrip()

    title = f"{invoices[0].tenant} ({invoices[0].currency})" if invoices else "no invoices"
    rule = "  ".join("-" * width for width in widths)
    return "\n".join([title, line(HEADERS), rule, *(line(row) for row in rows[1:])]) + "\n"
