"""The invoice PDF shows the canonical JSON's figures exactly, on valid, deterministic PDFs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from billing_core import (
    BillingLedger,
    Period,
    UsageAggregate,
    UsageKey,
    invoice_to_data,
    parse_contract,
    rate_invoice,
)
from billing_io.pdf import InvoiceRenderError, Issuer, paper_for_environment, render_invoice_pdf

REPO = Path(__file__).resolve().parents[3]
ISSUE = date(2026, 4, 2)
DUE = date(2026, 5, 2)
ISSUER = Issuer(name="Northwind Analytics Inc.", address=("100 Market Street", "San Francisco, CA 94105"))


@pytest.fixture(scope="module", autouse=True)
def pdf_tools() -> Iterator[None]:
    """poppler-utils and qpdf are system packages; install them when a fresh machine lacks them."""
    if not all(shutil.which(tool) for tool in ("pdftotext", "pdfinfo", "pdffonts", "qpdf")):
        subprocess.run([str(REPO / "scripts" / "install-pdf-tools.sh")], check=True)
    yield


def _money(value: str, symbol: str = "$") -> str:
    """Independent oracle for the displayed form of a JSON amount: grouping only, digits unchanged."""
    number = Decimal(value)
    text = f"{symbol}{abs(number):,f}"
    return f"−{text}" if number < 0 else text


def build_invoice(sites: int, currency: str = "USD") -> dict[str, Any]:
    """A canonical invoice dict (formats §4) whose totals are the exact sums of its lines."""
    minor = Decimal("1") if currency == "JPY" else Decimal("0.01")
    rates = {"standard": Decimal("1.20"), "expedited": Decimal("2.50"), "review": Decimal("0.40")}
    kinds = dict.fromkeys(("usage", "minimum_shortfall", "cap_credit", "prior_period_adjustment"), Decimal(0))
    categories = dict.fromkeys(rates, Decimal(0))
    site_dicts = []
    line_count = 0
    for index in range(sites):
        lines: list[dict[str, Any]] = []
        for offset, (category, rate) in enumerate(rates.items()):
            quantity = Decimal(1000 + 137 * index + offset)
            billed = category != "review"
            amount = (quantity * rate).quantize(minor) if billed else Decimal(0).quantize(minor)
            lines.append(
                {
                    "kind": "usage",
                    "category": category,
                    "quantity": str(quantity),
                    "unit_price": str(rate),
                    "amount": str(amount),
                    "billed": billed,
                    "explanation": f"{quantity} × {rate}" if billed else "category disabled",
                }
            )
            if billed:
                kinds["usage"] += amount
                categories[category] += amount
        if index % 4 == 0:
            amount = Decimal("40").quantize(minor)
            lines.append(
                {
                    "kind": "minimum_shortfall",
                    "amount": str(amount),
                    "billed": True,
                    "explanation": "minimum 500.00 − eligible 460.00 (standard, expedited)",
                }
            )
            kinds["minimum_shortfall"] += amount
        if index % 9 == 0:
            amount = Decimal("-300").quantize(minor)
            lines.append(
                {
                    "kind": "cap_credit",
                    "amount": str(amount),
                    "billed": True,
                    "explanation": "annual cap reached",
                }
            )
            kinds["cap_credit"] += amount
        if index % 7 == 3:
            amount = Decimal("60").quantize(minor)
            lines.append(
                {
                    "kind": "prior_period_adjustment",
                    "period": "2026-02",
                    "category": "standard",
                    "quantity": "50",
                    "amount": str(amount),
                    "billed": True,
                    "explanation": "late usage for 2026-02",
                }
            )
            kinds["prior_period_adjustment"] += amount
        total = sum((Decimal(line["amount"]) for line in lines if line["billed"]), Decimal(0))
        line_count += len(lines)
        site_dicts.append(
            {
                "site": f"site-{index:03d}",
                "total": str(total),
                "billed_to_date": str(total + 1000),
                "cap_remaining": str(Decimal(90000) - total),
                "lines": lines,
            }
        )
    grand = sum((Decimal(site["total"]) for site in site_dicts), Decimal(0)).quantize(minor)
    return {
        "number": "US-2026-000042",
        "tenant": "acme",
        "period": "2026-03",
        "currency": currency,
        "status": "issued",
        "total": str(grand),
        "sites": site_dicts,
        "totals": {
            **{kind: str(value.quantize(minor)) for kind, value in kinds.items()},
            "total": str(grand),
        },
        "category_totals": {name: str(value.quantize(minor)) for name, value in categories.items()},
        "verification": {
            "sum_of_site_totals": str(grand),
            "sum_of_components": str(grand),
            "line_count": line_count,
            "event_count": 4321,
            "checksum": "sha256:" + "0f" * 32,
        },
    }


def rated_invoice(sites: int) -> dict[str, Any]:
    """A real invoice: billing_core rates ``sites`` sites with minimums, a disabled category and caps."""
    site_ids = [f"site-{index:03d}" for index in range(sites)]
    contract = parse_contract(
        {
            "tenant": "acme",
            "currency": "USD",
            "contract_start": "2026-01-01",
            "defaults": [
                {"effective_from": "2026-01-01", "rates": {"standard": "1.20", "expedited": "2.50"}}
            ],
            "sites": [
                {
                    "id": site_id,
                    "pricing": [
                        {
                            "effective_from": "2026-01-01",
                            "rates": {"review": "0.40"},
                            "disabled": ["review"] if index % 2 else [],
                            "minimum": {"amount": "2500.00", "categories": ["standard"]},
                            "annual_cap": "3000.00" if index % 5 == 0 else None,
                        }
                    ],
                }
                for index, site_id in enumerate(site_ids)
            ],
        }
    )
    quantities = {"standard": 700, "expedited": 90, "review": 40}
    usage = {
        Period(2026, 3): {
            UsageKey(site_id, category): UsageAggregate(site_id, category, Decimal(base + 13 * index), 5)
            for index, site_id in enumerate(site_ids)
            for category, base in quantities.items()
        }
    }
    invoice = rate_invoice(contract, Period(2026, 3), usage, BillingLedger(), number="US-2026-000042")
    return invoice_to_data(invoice)


def _render(invoice: dict[str, Any], **kwargs: Any) -> bytes:
    options: dict[str, Any] = {"paper": "A4", "issuer": ISSUER, "issue_date": ISSUE, "due_date": DUE}
    options.update(kwargs)
    return render_invoice_pdf(invoice, **options)


def _pages_text(pdf: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True
    ).stdout
    return text.decode("utf-8").split("\f")[:-1]


@pytest.fixture(scope="module")
def sixty_sites() -> dict[str, Any]:
    return rated_invoice(60)


@pytest.fixture(scope="module")
def sixty_sites_pdf(sixty_sites: dict[str, Any]) -> bytes:
    return _render(sixty_sites)


def test_every_site_and_total_appears_exactly_as_in_the_json(
    sixty_sites: dict[str, Any], sixty_sites_pdf: bytes, tmp_path: Path
) -> None:
    text = "\n".join(_pages_text(sixty_sites_pdf, tmp_path))
    for site in sixty_sites["sites"]:
        assert site["site"] in text
        assert _money(site["total"]) in text, site["site"]
    assert _money(sixty_sites["total"]) in text
    assert _money(sixty_sites["totals"]["cap_credit"]) in text
    assert sixty_sites["verification"]["checksum"] in text


def test_every_line_amount_is_shown(
    sixty_sites: dict[str, Any], sixty_sites_pdf: bytes, tmp_path: Path
) -> None:
    words = set("\n".join(_pages_text(sixty_sites_pdf, tmp_path)).split())
    for site in sixty_sites["sites"]:
        for line in site["lines"]:
            assert _money(line["amount"]) in words, (site["site"], line)


def test_qpdf_check_passes(sixty_sites_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(sixty_sites_pdf)
    result = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_same_input_gives_byte_identical_pdf_in_this_and_another_process(
    sixty_sites: dict[str, Any], sixty_sites_pdf: bytes, tmp_path: Path
) -> None:
    assert _render(sixty_sites) == sixty_sites_pdf
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_pdf_render import rated_invoice, _render\n"
        "sys.stdout.buffer.write(_render(rated_invoice(60)))\n"
    )
    other = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True).stdout
    assert other == sixty_sites_pdf


def test_different_issue_date_changes_the_document(
    sixty_sites: dict[str, Any], sixty_sites_pdf: bytes
) -> None:
    assert _render(sixty_sites, issue_date=date(2026, 4, 3)) != sixty_sites_pdf


def test_every_page_has_page_x_of_y_and_the_number(sixty_sites_pdf: bytes, tmp_path: Path) -> None:
    pages = _pages_text(sixty_sites_pdf, tmp_path)
    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "US-2026-000042" in page


def test_site_table_header_is_repeated_on_the_pages_it_spans(sixty_sites_pdf: bytes, tmp_path: Path) -> None:
    pages = _pages_text(sixty_sites_pdf, tmp_path)
    with_header = [index for index, page in enumerate(pages) if "Billed this contract year" in page]
    assert len(with_header) >= 2
    assert with_header == list(range(with_header[0], with_header[-1] + 1))


def test_first_page_carries_dates_and_summary(
    sixty_sites: dict[str, Any], sixty_sites_pdf: bytes, tmp_path: Path
) -> None:
    first = _pages_text(sixty_sites_pdf, tmp_path)[0]
    for expected in (
        "acme",
        "March 2026",
        "2 April 2026",
        "2 May 2026",
        "Usage charges",
        "Minimum commitment shortfalls",
        "Annual cap credits",
        "Prior-period adjustments",
        _money(sixty_sites["totals"]["usage"]),
        _money(sixty_sites["summary"]["categories"]["standard"]),
    ):
        assert expected in first


def test_verification_page_lists_counts(
    sixty_sites: dict[str, Any], sixty_sites_pdf: bytes, tmp_path: Path
) -> None:
    last = _pages_text(sixty_sites_pdf, tmp_path)[-1]
    assert "Verification" in last
    assert f"{sixty_sites['verification']['line_count']:,}" in last
    assert f"{sixty_sites['verification']['event_count']:,}" in last
    assert last.count("✓ equals grand total") == 2


def test_verification_flags_a_disagreeing_sum(tmp_path: Path) -> None:
    invoice = build_invoice(2)
    invoice["verification"]["sum_of_components"] = "1.00"
    last = _pages_text(_render(invoice), tmp_path)[-1]
    assert "✗ differs from grand total" in last


def test_letter_and_a4_page_sizes(tmp_path: Path) -> None:
    invoice = build_invoice(2)
    sizes = {}
    for paper in ("A4", "Letter"):
        path = tmp_path / f"{paper}.pdf"
        path.write_bytes(_render(invoice, paper=paper))
        info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
        sizes[paper] = re.search(r"Page size:\s+([\d.]+ x [\d.]+)", info).group(1)  # type: ignore[union-attr]
    assert sizes == {"A4": "595.276 x 841.89", "Letter": "612 x 792"}


def test_fonts_are_embedded_and_creation_date_is_the_issue_date(
    sixty_sites_pdf: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(sixty_sites_pdf)
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    # reportlab always declares Helvetica as its resource F1; no text is set in it.
    rows = [row for row in fonts.splitlines()[2:] if not row.startswith("Helvetica ")]
    assert len(rows) == 3 and all("DejaVu" in row and " yes yes yes " in row for row in rows), fonts
    info = subprocess.run(
        ["pdfinfo", "-isodates", str(path)], check=True, capture_output=True, text=True
    ).stdout
    assert "2026-04-02T00:00:00" in info


@pytest.mark.parametrize(("currency", "symbol"), [("GBP", "£"), ("EUR", "€"), ("JPY", "¥")])
def test_currency_symbols_render(currency: str, symbol: str, tmp_path: Path) -> None:
    invoice = build_invoice(3, currency)
    text = "\n".join(_pages_text(_render(invoice), tmp_path))
    assert _money(invoice["total"], symbol) in text
    assert _money(invoice["totals"]["cap_credit"], symbol) in text
    if currency == "JPY":
        assert "." not in invoice["total"]


def test_credit_note_and_draft_are_labelled(tmp_path: Path) -> None:
    invoice = build_invoice(1)
    invoice.update(document_type="credit_note", references="US-2026-000041", status="draft")
    first = _pages_text(_render(invoice), tmp_path)[0]
    assert "CREDIT NOTE" in first
    assert "US-2026-000041" in first
    assert "Status Draft" in " ".join(first.split())


def test_an_invoice_without_sites_still_renders(tmp_path: Path) -> None:
    invoice = build_invoice(0)
    pages = _pages_text(_render(invoice), tmp_path)
    assert "No site has charges in this period." in "\n".join(pages)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda inv: inv["sites"][1]["lines"][0].update(amount=1.5),
            r"invoice\.sites\[1\]\.lines\[0\]\.amount",
        ),
        (lambda inv: inv["sites"][0].pop("total"), r"invoice\.sites\[0\]: missing field 'total'"),
        (lambda inv: inv.update(period="2026-13"), r"invoice\.period"),
        (lambda inv: inv["totals"].update(usage="12,00"), r"invoice\.totals\.usage"),
        (lambda inv: inv["verification"].update(line_count="5"), r"invoice\.verification\.line_count"),
    ],
)
def test_malformed_invoice_is_refused_with_the_field_path(mutate: Any, message: str) -> None:
    invoice = build_invoice(2)
    mutate(invoice)
    with pytest.raises(InvoiceRenderError, match=message):
        _render(invoice)


def test_due_date_before_issue_date_is_refused() -> None:
    with pytest.raises(InvoiceRenderError, match="due_date"):
        _render(build_invoice(1), due_date=date(2026, 4, 1))


@pytest.mark.parametrize(
    ("environment", "paper"), [("us-prod", "Letter"), ("US", "Letter"), ("uk-prod", "A4"), ("test", "A4")]
)
def test_paper_follows_the_environment(environment: str, paper: str) -> None:
    assert paper_for_environment(environment) == paper


def test_rated_invoice_has_what_the_layout_tests_rely_on(sixty_sites: dict[str, Any]) -> None:
    kinds = {line["kind"] for site in sixty_sites["sites"] for line in site["lines"]}
    assert {"usage", "minimum_shortfall", "cap_credit"} <= kinds
    assert any(not line["billed"] for site in sixty_sites["sites"] for line in site["lines"])


def test_unbillable_usage_is_listed(tmp_path: Path) -> None:
    invoice = build_invoice(1)
    invoice["unbillable"] = [
        {
            "site": "lab-99",
            "category": "standard",
            "period": "2026-03",
            "quantity": "1250.5",
            "events": 17,
            "reason": "unknown site",
        }
    ]
    text = "\n".join(_pages_text(_render(invoice), tmp_path))
    assert "Usage not billed" in text
    assert "lab-99" in text
    assert "1,250.5" in text
    assert "unknown site" in text
