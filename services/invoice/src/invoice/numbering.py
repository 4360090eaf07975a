"""Invoice numbers: ``<PREFIX>-<YYYY>-<NNNNNN>``, one gap-free series per environment and year.

The prefix tells at a glance which environment issued a document, so a test invoice can
never be mistaken for a real one. Credit notes draw from the same series as invoices.
"""

from __future__ import annotations

import re

PREFIXES = {"test": "TEST", "us-prod": "US", "uk-prod": "UK"}

NUMBER_PATTERN = re.compile(r"^(?P<prefix>[A-Z]+)-(?P<year>\d{4})-(?P<sequence>\d{6,})$")


def number_prefix(environment: str) -> str:
    try:
        return PREFIXES[environment]
    except KeyError:
        raise ValueError(f"no invoice number prefix for environment {environment!r}") from None


def format_number(prefix: str, year: int, sequence: int) -> str:
    if sequence < 1:
        raise ValueError(f"invoice sequence must start at 1, got {sequence}")
    return f"{prefix}-{year:04d}-{sequence:06d}"


def is_invoice_number(text: str) -> bool:
    return NUMBER_PATTERN.match(text) is not None
