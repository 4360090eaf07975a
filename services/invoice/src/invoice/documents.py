"""The stored bytes of an invoice: canonical JSON and the PDF rendered from it, with their SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from billing_core import canonical_json
from billing_io.pdf import Issuer, paper_for_environment, render_invoice_pdf
from invoice.settings import InvoiceSettings


def sha256_hex(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class RenderedDocument:
    json_body: bytes
    json_sha256: str
    pdf_body: bytes
    pdf_sha256: str


class Renderer(Protocol):
    """Renders a document's JSON data into its stored bytes (``render_document``, or a stand-in)."""

    def __call__(
        self, data: Mapping[str, Any], settings: InvoiceSettings, *, issue_date: date, due_date: date
    ) -> RenderedDocument: ...


def issuer_from(settings: InvoiceSettings) -> Issuer:
    address = tuple(line.strip() for line in settings.issuer_address.split("|") if line.strip())
    return Issuer(
        name=settings.issuer_name,
        address=address,
        contact=settings.issuer_contact,
        tax_id=settings.issuer_tax_id,
        payment_terms=f"Payment due within {settings.payment_days} days of the issue date. "
        "Please quote the invoice number with your payment.",
    )


def render_document(
    data: Mapping[str, Any], settings: InvoiceSettings, *, issue_date: date, due_date: date
) -> RenderedDocument:
    json_body = canonical_json(data)
    pdf_body = render_invoice_pdf(
        data,
        paper=paper_for_environment(settings.environment),
        issuer=issuer_from(settings),
        issue_date=issue_date,
        due_date=due_date,
    )
    return RenderedDocument(json_body, sha256_hex(json_body), pdf_body, sha256_hex(pdf_body))
