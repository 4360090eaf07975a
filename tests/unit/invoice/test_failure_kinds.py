"""Which errors make a closed period a recorded failure, and under which kind; the rest are retried."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from billing_core import ContractError, Issue, RatingError
from billing_runtime.cloudevents_codec import CloudEventDecodeError
from invoice.closed_periods_consumer import ClosedPeriodEventError
from invoice.failures import PERMANENT_ERRORS, failure_kind
from invoice.inputs import PeriodNotClosedError, UnusableClosedPeriodError
from invoice.usage_at_close import UsageAtCloseError


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (RatingError("no rate", tenant="acme", site="nyc-01", category="x", period="2026-03"), "rating"),
        (ContractError([Issue("frozen configuration", "sites[0]", "bad")]), "contract"),
        (PeriodNotClosedError("not closed"), "not_closed"),
        (UnusableClosedPeriodError("not an object"), "inputs"),
        (UsageAtCloseError("cannot be reconstructed"), "inputs"),
        (CloudEventDecodeError("not_json", "…"), "event"),
        (ClosedPeriodEventError("missing_fields", "…"), "event"),
    ],
)
def test_input_errors_are_permanent_and_classified(error: Exception, kind: str) -> None:
    assert isinstance(error, PERMANENT_ERRORS)
    assert failure_kind(error) == kind


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, ConnectionRefusedError()),
        ConnectionError("broker gone"),
        TimeoutError(),
        KeyError("a bug, not an input"),
        ValueError("a bug, not an input"),
    ],
)
def test_outages_and_unexpected_errors_are_retried(error: Exception) -> None:
    assert not isinstance(error, PERMANENT_ERRORS)
