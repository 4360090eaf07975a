"""Files written for each rated period of an offline run: ``DIR/<YYYY-MM>/invoice.json``.

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
from pathlib import Path
from typing import Any

from billing_core import Invoice, invoice_to_data

__all__ = ["INVOICE_JSON", "invoice_json_text", "write_period_outputs"]

INVOICE_JSON = "invoice.json"


def invoice_json_text(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_period_outputs(out_dir: Path, invoice: Invoice) -> list[Path]:
    """Write every document of one period's invoice; returns the files written."""
    period_dir = out_dir / str(invoice.period)
    period_dir.mkdir(parents=True, exist_ok=True)
    json_path = period_dir / INVOICE_JSON
    json_path.write_text(invoice_json_text(invoice_to_data(invoice)), encoding="utf-8")
    return [json_path]
