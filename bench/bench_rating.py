"""Benchmark: billing_core rating a year of a large tenant (make bench-rating).

Synthesises 1,000 sites x 10 categories x 12 periods of already aggregated usage
(nothing read from disk in the timed part) and times ``rate_run_with_ledger``:
12 invoices in order, each site's contract-year billed-to-date carried from one
to the next, with minimums, caps that bind, a disabled category and a mid-year
price change. The baseline, measured in the same run on the same data, is a plain
Decimal loop of quantity x rate, so the ratio is the cost of the billing rules
(rounding, minimums, caps, explanations, ledger) over bare arithmetic.

Baseline and rating runs alternate, and both wall and CPU time are kept: on a shared,
loaded machine the wall times swing, while the ratio of the two measured side by side
(and the CPU ratio) stays comparable from one run to the next.

    python bench/bench_rating.py [--sites 1000] [--repeat 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from billing_core import (
    Contract,
    Period,
    UsageAggregate,
    UsageKey,
    parse_contract,
    rate_run_with_ledger,
)

CATEGORIES = tuple(f"cat-{index:02d}" for index in range(10))
RATES = {
    category: Decimal("0.05") * (index + 1) + Decimal("0.015") for index, category in enumerate(CATEGORIES)
}
PERIODS = tuple(Period(2026, month) for month in range(1, 13))
TARGET_SECONDS = 0.5
SEED = 7

Usage = dict[Period, dict[UsageKey, UsageAggregate]]


def _site_version(index: int) -> dict[str, Any]:
    version: dict[str, Any] = {"effective_from": "2026-01-01"}
    if index % 3 == 0:
        version["minimum"] = {"amount": "900.00", "categories": list(CATEGORIES[:5])}
    if index % 4 == 0:
        version["annual_cap"] = "9000.00"  # binds around mid-year for these sites
    if index % 5 == 0:
        version["disabled"] = [CATEGORIES[9]]
    if index % 7 == 0:
        version["rates"] = {CATEGORIES[0]: "0.061"}
    return version


def build_contract(sites: int) -> Contract:
    data = {
        "tenant": "bench",
        "name": "Benchmark Tenant",
        "currency": "USD",
        "contract_start": "2026-01-01",
        "defaults": [
            {"effective_from": "2026-01-01", "rates": {c: str(r) for c, r in RATES.items()}},
            {"effective_from": "2026-07-01", "rates": {CATEGORIES[1]: "0.125"}},
        ],
        "sites": [
            {"id": f"site-{index:04d}", "name": f"Site {index}", "pricing": [_site_version(index)]}
            for index in range(sites)
        ],
    }
    return parse_contract(data, source="bench")


def build_usage(contract: Contract, rng: random.Random) -> Usage:
    usage: Usage = {}
    for period in PERIODS:
        bucket: dict[UsageKey, UsageAggregate] = {}
        for site in contract.sites:
            for category in CATEGORIES:
                quantity = Decimal(rng.randrange(1, 2_000_000)).scaleb(-3)  # up to 1,999.999 units
                key = UsageKey(site.id, category)
                bucket[key] = UsageAggregate(site.id, category, quantity, rng.randrange(1, 500))
        usage[period] = bucket
    return usage


def baseline(usage: Usage) -> Decimal:
    """Bare arithmetic over the same data: quantity x default rate, summed."""
    total = Decimal(0)
    for bucket in usage.values():
        for key, aggregate in bucket.items():
            total += aggregate.quantity * RATES[key.category]
    return total


def rate_year(contract: Contract, usage: Usage) -> Decimal:
    invoices, _ledger = rate_run_with_ledger(contract, usage, PERIODS[-1])
    if len(invoices) != len(PERIODS):
        raise RuntimeError(f"expected {len(PERIODS)} invoices, got {len(invoices)}")
    return sum((invoice.total for invoice in invoices), Decimal(0))


class Timings:
    """Wall and CPU seconds of repeated runs of one piece of work."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def measure(self, work: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def best_cpu(self) -> float:
        return min(self.cpu)


def measure_alternating(repeat: int, contract: Contract, usage: Usage) -> tuple[Timings, Timings]:
    """Baseline and rating runs side by side, so both see the same load."""
    base, rating = Timings(), Timings()
    for _ in range(repeat):
        base.measure(lambda: baseline(usage))
        rating.measure(lambda: rate_year(contract, usage))
    return base, rating


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--profile", action="store_true", help="print the hottest functions of one rating run"
    )
    args = parser.parse_args()

    contract = build_contract(args.sites)
    usage = build_usage(contract, random.Random(SEED))
    site_periods = args.sites * len(PERIODS)
    rated_total = rate_year(contract, usage)  # warm-up, and the figure printed below

    base, rating = measure_alternating(args.repeat, contract, usage)

    print(f"rating benchmark: {args.sites} sites x {len(CATEGORIES)} categories x {len(PERIODS)} periods")
    print(f"  usage aggregates            {site_periods * len(CATEGORIES):>12,}")
    print(f"  invoiced total (12 periods) {rated_total:>12,} USD")
    print(
        f"  baseline (Decimal q x r)    {base.best:>12.3f} s best  {base.median:.3f} s median"
        f"  {base.best_cpu:.3f} s CPU"
    )
    print(
        f"  rating (rate_run)           {rating.best:>12.3f} s best  {rating.median:.3f} s median"
        f"  {rating.best_cpu:.3f} s CPU"
    )
    print(f"  periods per second          {len(PERIODS) / rating.best:>12,.1f}")
    print(f"  site-periods per second     {site_periods / rating.best:>12,.0f}")
    print(
        f"  ratio rating / baseline     {rating.best / base.best:>12.1f} x wall"
        f"  {rating.best_cpu / base.best_cpu:.1f} x CPU"
    )
    verdict = "met" if rating.best < TARGET_SECONDS else "NOT met"
    print(f"  target < {TARGET_SECONDS} s for rating      {verdict:>12}  ({rating.best:.3f} s best wall)")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(rate_year, contract, usage)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
