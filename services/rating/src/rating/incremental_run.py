"""A run's invoice for one period, rated from the run's state just before that period.

``billing_core.rate_run_with_ledger`` rates every period not yet invoiced from the contract start.
The periods before the requested one change far less often than the requested period's own usage,
so their part of the run is kept (``RatedPrefix``) and only the requested period is rated again.
The invoice is the same as the full run's: within a run, once an invoice has examined the earlier
periods, later invoices revisit none of them, so a later period's invoice depends only on its own
usage and the ledger the run has built by then. The first period the run rates (no earlier period
rated in the run) does revisit earlier usage (late usage of invoiced periods, usage before the
contract start); for it the prefix keeps the earlier usage and the run is made exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing_core import BillingLedger, Contract, Invoice, Period, UsageByPeriod, rate_run_with_ledger
from rating.records import RatingBasis


@dataclass(frozen=True)
class RatedPrefix:
    """The run through the period before ``period``, and what it was computed from."""

    period: Period
    ledger: BillingLedger
    """The issued invoices' ledger plus every period the run rated before ``period``."""
    revisited: UsageByPeriod
    """Earlier usage the period's invoice examines: all of it when the run rated no earlier
    period, else nothing."""
    basis: RatingBasis


def rate_prefix(
    contract: Contract,
    earlier_usage: UsageByPeriod,
    period: Period,
    issued_ledger: BillingLedger,
    basis: RatingBasis,
) -> RatedPrefix:
    """Rate the periods before ``period`` as the full run would (RatingError as it would, too)."""
    if period <= contract.start_period:
        return RatedPrefix(period, issued_ledger, earlier_usage, basis)
    rated, ledger = rate_run_with_ledger(contract, earlier_usage, period.previous(), issued_ledger)
    return RatedPrefix(period, ledger, {} if rated else earlier_usage, basis)


def rate_period(contract: Contract, prefix: RatedPrefix, usage: UsageByPeriod) -> Invoice:
    """The run's invoice for ``prefix.period``; ``usage`` holds that period's usage (only)."""
    period = prefix.period
    run_usage = dict(prefix.revisited)
    if period in usage:
        run_usage[period] = usage[period]
    invoices, _ = rate_run_with_ledger(contract, run_usage, period, prefix.ledger)
    if not invoices or invoices[-1].period != period:
        raise ValueError(f"period {period} was not rated (already invoiced in the ledger)")
    return invoices[-1]
