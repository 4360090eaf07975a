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

from .text_table import text_table

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
    """A title naming tenant and currency, then one row per invoice."""
    title = f"{invoices[0].tenant} ({invoices[0].currency})" if invoices else "no invoices"
    rows = [invoice_row(invoice) for invoice in invoices]
    return "\n".join([title, *text_table(HEADERS, rows, label_columns=2)]) + "\n"
