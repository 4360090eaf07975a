"""Invoice JSON (formats §4), its canonical byte form and checksum, and verification."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .invoice import Invoice

__all__ = [
    "canonical_json",
    "invoice_checksum",
    "invoice_from_data",
    "invoice_to_data",
    "verify_invoice_data",
]


def invoice_to_data(invoice: Invoice) -> dict[str, Any]:
    """The invoice as JSON-ready data: amounts as strings with exactly the minor digits,
    quantities as plain decimal strings, including verification and checksum."""
    raise NotImplementedError


def canonical_json(data: Mapping[str, Any]) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8 — the bytes the checksum covers."""
    raise NotImplementedError


def invoice_checksum(data: Mapping[str, Any]) -> str:
    """ "sha256:<hex>" of the canonical JSON of the invoice data without the checksum field."""
    raise NotImplementedError


def verify_invoice_data(data: Mapping[str, Any]) -> list[str]:
    """Problems found in invoice JSON data (checksum, sums, counts); empty when it is sound."""
    raise NotImplementedError


def invoice_from_data(data: Mapping[str, Any]) -> Invoice:
    """Rebuild an Invoice from its JSON data (e.g. a stored issued invoice)."""
    raise NotImplementedError
