"""Invoice PDF rendering from the canonical invoice JSON (formats §4).

Shared by `billing run` and the invoice service so both produce the same document.
The output is deterministic: the same JSON, paper, issuer and dates give
byte-identical PDFs, which is what lets an issued invoice's PDF be stored with a
checksum and served again unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date
from functools import partial
from typing import Any, Literal

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

from billing_io.pdf_canvas import InvoiceCanvas, PageFurniture
from billing_io.pdf_errors import InvoiceRenderError
from billing_io.pdf_fonts import register_invoice_fonts
from billing_io.pdf_model import read_invoice
from billing_io.pdf_sections import (
    Issuer,
    RenderContext,
    cover,
    format_day,
    period_label,
    site_sections,
    summary,
    unbillable_usage,
    verification,
)
from billing_io.pdf_styles import build_styles

Paper = Literal["A4", "Letter"]

_PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": A4, "Letter": LETTER}
_MARGIN = 18 * mm


def paper_for_environment(environment: str) -> Paper:
    """The US environment ("us", "us-prod") prints on Letter; every other one on A4."""
    return "Letter" if environment.strip().lower().split("-")[0] == "us" else "A4"


def render_invoice_pdf(
    invoice_json: Mapping[str, Any],
    *,
    paper: Paper = "A4",
    issuer: Issuer | None = None,
    issue_date: date,
    due_date: date,
) -> bytes:
    """Render one invoice (or credit note) to PDF bytes; raises InvoiceRenderError on malformed input."""
    if paper not in _PAGE_SIZES:
        raise InvoiceRenderError(f"paper: expected one of {sorted(_PAGE_SIZES)}, got {paper!r}")
    if due_date < issue_date:
        raise InvoiceRenderError(f"due_date: {due_date} is before the issue date {issue_date}")
    invoice = read_invoice(invoice_json)
    issuer = issuer or Issuer()
    fonts = register_invoice_fonts()
    page_size = _PAGE_SIZES[paper]
    width = page_size[0] - 2 * _MARGIN
    ctx = RenderContext(
        invoice=invoice,
        issuer=issuer,
        issue_date=issue_date,
        due_date=due_date,
        styles=build_styles(fonts),
        width=width,
        page_height=page_size[1] - 2 * _MARGIN,
    )
    label = "Credit note" if invoice.document_type == "credit_note" else "Invoice"
    furniture = PageFurniture(
        fonts=fonts,
        issuer_name=issuer.name,
        document_label=f"{label} {invoice.number}",
        footer_left=f"{invoice.tenant_name or invoice.tenant} · {period_label(invoice.period)}",
        footer_centre=f"Issued {format_day(issue_date)}",
        watermark="DRAFT" if invoice.status == "draft" else None,
        margin=_MARGIN,
        created=issue_date,
    )
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=page_size,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=f"{label} {invoice.number}",
        author=issuer.name,
        subject=f"{label} {invoice.number} for {invoice.tenant}, period {invoice.period}",
        creator="billing_io invoice renderer",
        producer="billing_io",
        invariant=1,
        pageCompression=1,
        initialFontName=fonts.regular,
    )
    frame = Frame(
        _MARGIN,
        _MARGIN,
        width,
        page_size[1] - 2 * _MARGIN,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate(id="invoice", frames=[frame])])
    story = [*cover(ctx), *summary(ctx), *site_sections(ctx), *unbillable_usage(ctx), *verification(ctx)]
    doc.build(story, canvasmaker=partial(InvoiceCanvas, furniture=furniture))
    return buffer.getvalue()


__all__ = ["InvoiceRenderError", "Issuer", "Paper", "paper_for_environment", "render_invoice_pdf"]
