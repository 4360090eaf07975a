"""If-None-Match handling of the document endpoints."""

from __future__ import annotations

import pytest

from invoice.api import _etag_matches

ETAG = '"abc123"'


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        (None, False),
        ('"abc123"', True),
        ('W/"abc123"', True),
        ('"x", "abc123"', True),
        ("*", True),
        ('"x"', False),
    ],
)
def test_etag_matching(header: str | None, matches: bool) -> None:
    assert _etag_matches(header, ETAG) is matches
