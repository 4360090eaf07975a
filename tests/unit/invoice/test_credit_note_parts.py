"""Credit note request parsing, its issued event against the published schema, and its PDF."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from billing_core import (
    BillingLedger,
    Period,
    SiteCredit,
    UsageAggregate,
    UsageKey,
    credit_invoice,
    credit_note_to_data,
    rate_invoice,
    record_invoice,
)
from billing_io.contract_yaml import load_contract
from billing_io.pdf import Issuer, render_invoice_pdf
from invoice.credit_note_event import CREDIT_NOTE_ISSUED_TYPE, credit_note_issued_event
from invoice.credit_note_request import CreditRequestError, parse_credit_request

REPO = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((REPO / "schemas" / "events" / "credit_note.issued.v1.json").read_text("utf-8"))
ISSUED = date(2026, 4, 20)


@pytest.fixture(scope="module", autouse=True)
def pdf_tools() -> Iterator[None]:
    if not shutil.which("pdftotext"):
        subprocess.run([str(REPO / "scripts" / "install-pdf-tools.sh")], check=True)
    yield


@pytest.fixture(scope="module")
def credit_note() -> dict[str, Any]:
    """March of the examples contract for nyc-01 and bos-02, issued, then credited in full."""
    contract = load_contract(REPO / "examples" / "contract.yaml")
    usage = {
        Period(2026, 3): {
            UsageKey("nyc-01", "standard"): UsageAggregate("nyc-01", "standard", Decimal("300"), 30),
            UsageKey("nyc-01", "expedited"): UsageAggregate("nyc-01", "expedited", Decimal("40"), 4),
            UsageKey("bos-02", "standard"): UsageAggregate("bos-02", "standard", Decimal("10"), 1),
        }
    }
    invoice = rate_invoice(contract, Period(2026, 3), usage, BillingLedger(), number="TEST-2026-000003")
    invoice = dataclasses.replace(invoice, status="issued")
    note = credit_invoice(
        invoice,
        number="TEST-2026-000004",
        reason="Volumes double-counted after the pipeline migration",
        ledger=record_invoice(BillingLedger(), invoice),
        sites=[SiteCredit("nyc-01"), SiteCredit("bos-02", Decimal("12.00"))],
        status="issued",
        issue_date=ISSUED,
    )
    return credit_note_to_data(note)


def test_a_request_reads_sites_and_exact_amounts() -> None:
    body = b'{"reason": " outage ", "sites": ["nyc-01", {"site": "bos-02", "amount": 12.10}]}'
    request = parse_credit_request(body, " finance@acme ")
    assert request.reason == "outage" and request.actor == "finance@acme"
    assert request.sites == [SiteCredit("nyc-01"), SiteCredit("bos-02", Decimal("12.10"))]
    assert str(request.sites[1].amount) == "12.10"
    assert parse_credit_request(b'{"reason": "r"}', "a").sites is None
    assert parse_credit_request(b'{"reason": "r"}', "a", " k-1 ").idempotency_key == "k-1"


@pytest.mark.parametrize("key", ["", "   ", "k" * 201])
def test_an_idempotency_key_has_one_to_200_characters(key: str) -> None:
    with pytest.raises(CreditRequestError, match="Idempotency-Key"):
        parse_credit_request(b'{"reason": "r"}', "a", key)


@pytest.mark.parametrize(
    ("body", "actor", "message"),
    [
        (b'{"reason": "r"}', None, "X-Actor"),
        (b'{"reason": "r"}', "  ", "X-Actor"),
        (b"not json", "a", "body: not JSON"),
        (b"[]", "a", "body: expected a JSON object"),
        (b'{"reason": "r", "note": 1}', "a", r"unknown fields \['note'\]"),
        (b'{"sites": ["x"]}', "a", "reason: a non-empty text"),
        (b'{"reason": "r", "sites": []}', "a", "sites: expected a non-empty list"),
        (b'{"reason": "r", "sites": [3]}', "a", r"sites\[0\]: expected a site id"),
        (b'{"reason": "r", "sites": [{"amount": "1"}]}', "a", r"sites\[0\]\.site"),
        (b'{"reason": "r", "sites": [{"site": "s", "amount": "1,5"}]}', "a", r"sites\[0\]\.amount"),
        (b'{"reason": "r", "sites": [{"site": "s", "amount": true}]}', "a", r"sites\[0\]\.amount"),
        (b'{"reason": "r", "sites": [{"site": "s", "amount": "NaN"}]}', "a", "not a finite decimal"),
    ],
)
def test_bad_requests_name_the_field(body: bytes, actor: str | None, message: str) -> None:
    with pytest.raises(CreditRequestError, match=message):
        parse_credit_request(body, actor)


def test_issued_event_matches_its_schema(credit_note: dict[str, Any]) -> None:
    event = credit_note_issued_event(credit_note, "finance@acme", datetime(2026, 4, 20, tzinfo=UTC))
    jsonschema.validate(event, SCHEMA)
    assert event["type"] == CREDIT_NOTE_ISSUED_TYPE
    assert event["data"]["invoice_number"] == "TEST-2026-000003"
    assert event["data"]["total"] == credit_note["total"]
    positive = dict(event, data={**event["data"], "total": "10.00"})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(positive, SCHEMA)


def test_pdf_names_the_credited_invoice_the_reason_and_every_line(
    credit_note: dict[str, Any], tmp_path: Path
) -> None:
    pdf = render_invoice_pdf(
        credit_note, paper="A4", issuer=Issuer(name="Northwind"), issue_date=ISSUED, due_date=ISSUED
    )
    path = tmp_path / "credit-note.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True)
    pages = text.stdout.decode("utf-8")
    flat = " ".join(pages.split())
    assert "CREDIT NOTE" in flat and "Credit note number TEST-2026-000004" in flat
    assert "Credits invoice TEST-2026-000003" in flat
    assert "Volumes double-counted after the pipeline migration" in flat
    assert "Due date" not in flat and "Payable by" not in flat
    assert f"Total credited −${credit_note['total'].lstrip('-')}" in flat
    for site in credit_note["sites"]:
        for line in site["lines"]:
            amount = Decimal(line["amount"])
            shown = f"{'−' if amount < 0 else ''}${abs(amount):,f}"
            assert shown in flat, line
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True).stdout.decode()
    assert re.search(r"^Title:\s+Credit note TEST-2026-000004$", info, re.MULTILINE)
