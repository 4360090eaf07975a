"""Invoice PDF rendering speed: 50 and 1,000 sites (targets 0.5 s and 5 s).

The invoices are rated by billing_core from a generated contract, so the PDFs are
of real canonical JSON. The baseline, measured in the same run, is billing_core's
canonical JSON serialisation of the same invoice: the ratio shows what the PDF
costs on top of producing the invoice data at all.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from billing_core import (
    BillingLedger,
    Period,
    UsageAggregate,
    UsageKey,
    canonical_json,
    invoice_to_data,
    parse_contract,
    rate_invoice,
)
from billing_io.pdf import Issuer, render_invoice_pdf

TARGETS = {50: 0.5, 1000: 5.0}
CATEGORIES = {"standard": "1.20", "expedited": "2.50", "review": "0.40", "storage": "0.10"}


def invoice_for(sites: int) -> dict[str, Any]:
    contract = parse_contract(
        {
            "tenant": "bench",
            "name": "Bench Tenant",
            "currency": "USD",
            "contract_start": "2026-01-01",
            "defaults": [{"effective_from": "2026-01-01", "rates": CATEGORIES}],
            "sites": [
                {
                    "id": f"site-{index:04d}",
                    "pricing": [
                        {
                            "effective_from": "2026-01-01",
                            "disabled": ["review"] if index % 3 == 0 else [],
                            "minimum": {"amount": "900.00", "categories": ["standard", "expedited"]},
                            "annual_cap": "60000.00",
                        }
                    ],
                }
                for index in range(sites)
            ],
        },
        source="bench",
    )
    period = Period(2026, 3)
    usage = {
        period: {
            UsageKey(f"site-{index:04d}", category): UsageAggregate(
                f"site-{index:04d}", category, Decimal(50 + (index * 37 + offset * 11) % 700), 10 + offset
            )
            for index in range(sites)
            for offset, category in enumerate(CATEGORIES)
        }
    }
    invoice = rate_invoice(
        contract, period, usage, BillingLedger(), number="TEST-2026-000001", status="issued"
    )
    return invoice_to_data(invoice)


def best_of(runs: int, action: Callable[[], object]) -> tuple[float, object]:
    timings = []
    result: object = None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def pages_of(pdf: bytes) -> int:
    """Page objects in the file (reportlab writes page dictionaries uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def main() -> int:
    issuer = Issuer(name="Bench Billing Ltd", address=("1 Example Street", "London"))
    failed = False
    print(f"{'sites':>6} {'pages':>6} {'pdf s':>8} {'pages/s':>9} {'json s':>8} {'ratio':>7} {'target':>7}")
    for sites, target in TARGETS.items():
        data = invoice_for(sites)
        runs = 5 if sites <= 100 else 2
        json_seconds, _ = best_of(runs, lambda data=data: canonical_json(data))
        pdf_seconds, pdf = best_of(
            runs,
            lambda data=data: render_invoice_pdf(
                data, paper="A4", issuer=issuer, issue_date=date(2026, 4, 1), due_date=date(2026, 5, 1)
            ),
        )
        assert isinstance(pdf, bytes)
        pages = pages_of(pdf)
        ok = pdf_seconds < target
        failed |= not ok
        print(
            f"{sites:>6} {pages:>6} {pdf_seconds:>8.3f} {pages / pdf_seconds:>9.1f} {json_seconds:>8.4f} "
            f"{pdf_seconds / json_seconds:>6.0f}x {'<' if ok else '>='}{target:>5.1f}s"
        )
    print("all targets met" if not failed else "TARGET MISSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
