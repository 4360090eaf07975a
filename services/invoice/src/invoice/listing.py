"""Searching a tenant's invoices and credit notes, a page at a time.

Pages follow the listing order (period, then number) with a keyset cursor: the last entry's period
and number, opaque to clients. Unlike an offset, a cursor never skips or repeats an entry when
documents are issued between two page requests (new ones appear in their place in the order).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class InvalidCursorError(ValueError):
    """A cursor that this service did not hand out."""


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last entry's period and number."""

    period: str
    number: str


@dataclass(frozen=True)
class InvoiceQuery:
    tenant_id: str
    period: str | None = None
    status: str | None = None
    kind: str | None = None
    number_prefix: str | None = None
    after: Position | None = None
    limit: int = DEFAULT_LIMIT


def encode_cursor(position: Position) -> str:
    raw = json.dumps([position.period, position.number], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise InvalidCursorError(f"cursor {cursor!r} is not one this service handed out") from None
    if not (isinstance(decoded, list) and len(decoded) == 2 and all(isinstance(v, str) for v in decoded)):
        raise InvalidCursorError(f"cursor {cursor!r} is not one this service handed out")
    return Position(decoded[0], decoded[1])
