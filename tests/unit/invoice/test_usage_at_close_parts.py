"""The pure parts of bounding a closed period's usage: reading the mark, cutting the receipt order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from invoice.usage_at_close import HighWaterMark, UsageAtCloseError, _cutoff

T0 = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)


def receipts(*counts: int) -> list[tuple[datetime, int]]:
    """One (received_at, events) pair per ingest transaction, a second apart."""
    return [(T0 + timedelta(seconds=index), count) for index, count in enumerate(counts)]


def test_the_mark_is_read_from_what_rating_stores() -> None:
    mark = HighWaterMark("acme", "2026-03", {"last_change": 41, "event_count": 1234, "aggregates": 7})
    assert (mark.last_change, mark.event_count, mark.aggregates) == (41, 1234, 7)


@pytest.mark.parametrize(
    "document",
    [{}, {"last_change": 1, "event_count": 2}, {"last_change": "x", "event_count": 2, "aggregates": 1}],
)
def test_an_incomplete_mark_is_refused_naming_the_period(document: dict[str, object]) -> None:
    with pytest.raises(UsageAtCloseError, match="close of acme 2026-03 has no usable usage high-water mark"):
        HighWaterMark("acme", "2026-03", document)


def test_the_cut_falls_after_the_transaction_that_completes_the_count() -> None:
    assert _cutoff(receipts(3, 2, 5), 5) == T0 + timedelta(seconds=1)
    assert _cutoff(receipts(3, 2, 5), 3) == T0
    assert _cutoff(receipts(3, 2, 5), 10) == T0 + timedelta(seconds=2)


def test_no_cut_inside_a_transaction_or_beyond_what_was_received() -> None:
    assert _cutoff(receipts(3, 2, 5), 4) is None  # would split the second transaction
    assert _cutoff(receipts(3, 2, 5), 11) is None  # more than ever arrived
    assert _cutoff(receipts(), 1) is None
