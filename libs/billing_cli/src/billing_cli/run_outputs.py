"""Files written for each rated period of an offline run: ``DIR/<YYYY-MM>/invoice.json`` and ``invoice.pdf``.

``write_period_outputs`` is the one place that decides what a period directory
holds; other documents of the same invoice (the PDF) are added here.

The JSON file is indented for people to read. Its ``verification.checksum`` is
the SHA-256 of the canonical form (billing_core's ``canonical_json``: sorted keys,
no whitespace, UTF-8) of the same data without the checksum field, so any reader
can verify it by re-serialising the parsed document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from billing_core import Invoice, invoice_to_data
from billing_io.pdf import Paper, render_invoice_pdf

__all__ = ["INVOICE_JSON", "INVOICE_PDF", "invoice_json_text", "offline_dates", "write_period_outputs"]

INVOICE_JSON = "invoice.json"
INVOICE_PDF = "invoice.pdf"
OFFLINE_PAYMENT_DAYS = 30


def offline_dates(invoice: Invoice) -> tuple[date, date]:
    """Issue and due dates printed on an offline invoice: the invoice's own when set, otherwise the
    day after the period ends and 30 days later, so the same run always prints the same dates."""
    issue = invoice.issue_date or invoice.period.next().first_day
    return issue, invoice.due_date or issue + timedelta(days=OFFLINE_PAYMENT_DAYS)


def invoice_json_text(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_period_outputs(out_dir: Path, invoice: Invoice, *, paper: Paper = "A4") -> list[Path]:
    """Write every document of one period's invoice; returns the files written."""
    period_dir = out_dir / str(invoice.period)
    period_dir.mkdir(parents=True, exist_ok=True)
    data = invoice_to_data(invoice)
    json_path = period_dir / INVOICE_JSON
    json_path.write_text(invoice_json_text(data), encoding="utf-8")
    issue_date, due_date = offline_dates(invoice)
    pdf_path = period_dir / INVOICE_PDF
    pdf_path.write_bytes(render_invoice_pdf(data, paper=paper, issue_date=issue_date, due_date=due_date))
    return [json_path, pdf_path]
