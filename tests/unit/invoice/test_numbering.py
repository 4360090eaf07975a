"""Invoice numbers name the environment, the year and a six-digit sequence."""

from __future__ import annotations

import pytest

from invoice.numbering import format_number, is_invoice_number, number_prefix


@pytest.mark.parametrize(("environment", "prefix"), [("test", "TEST"), ("us-prod", "US"), ("uk-prod", "UK")])
def test_prefix_per_environment(environment: str, prefix: str) -> None:
    assert number_prefix(environment) == prefix


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValueError, match="'eu-prod'"):
        number_prefix("eu-prod")


def test_format() -> None:
    assert format_number("US", 2026, 42) == "US-2026-000042"
    assert format_number("UK", 2027, 1234567) == "UK-2027-1234567"
    assert is_invoice_number("TEST-2026-000001")
    assert not is_invoice_number("TEST-2026-42")


def test_sequence_starts_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        format_number("US", 2026, 0)
