"""Listing cursors: what the service hands out comes back as the same position; anything else is refused."""

from __future__ import annotations

import base64

import pytest

from invoice.listing import InvalidCursorError, Position, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    "position",
    [Position("2026-01", "TEST-2026-000001"), Position("2026-12", "UK-2027-1234567"), Position("", "")],
)
def test_a_cursor_names_the_position_it_was_made_from(position: Position) -> None:
    cursor = encode_cursor(position)
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor  # safe in a query string
    assert decode_cursor(cursor) == position


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"period": "2026-01"}').decode(),
        base64.urlsafe_b64encode(b'["2026-01"]').decode(),
        base64.urlsafe_b64encode(b'["2026-01", 7]').decode(),
    ],
)
def test_a_cursor_the_service_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursorError, match="not one this service handed out"):
        decode_cursor(cursor)
