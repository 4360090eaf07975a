#!/usr/bin/env bash
# The whole pipeline on the examples, against the stack `make up` started (`make demo` runs both):
#   1. offline: `billing run` writes out/offline/<YYYY-MM>/invoice.{json,pdf};
#   2. the contract is loaded through the rating API (PUT /v1/contracts/acme);
#   3. the events are produced to Kafka (`billing produce`: usage.events.v1, structured CloudEvents
#      keyed tenant_id/site_id), and the script waits until ingest's aggregates hold every distinct
#      event of every period;
#   4. every ended period from the contract start is closed in turn through the rating API; the
#      invoice service issues each invoice, whose JSON and PDF go to out/pipeline/<YYYY-MM>/;
#   5. each issued invoice (and the open period's running charges on the dashboard) is compared
#      with the offline run; any difference makes the script fail.
# Running it again is harmless: events are de-duplicated, closes and invoices are idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
BILLING=.venv/bin/billing
OUT=${DEMO_OUT:-out}
CONTRACT=${DEMO_CONTRACT:-examples/contract.yaml}
EVENTS=${DEMO_EVENTS:-examples/events.jsonl}
INGEST=${INGEST_URL:-http://127.0.0.1:8101}
RATING=${RATING_URL:-http://127.0.0.1:8102}
INVOICE=${INVOICE_URL:-http://127.0.0.1:8103}

# Where the local stack's Kafka listens (written by `make up`), unless the caller says otherwise.
if [ -z "${BILLING_KAFKA_BOOTSTRAP:-}" ] && [ -f .local/stack.env ]; then
    BILLING_KAFKA_BOOTSTRAP="$(sed -n 's/^BILLING_KAFKA_BOOTSTRAP=//p' .local/stack.env)"
    export BILLING_KAFKA_BOOTSTRAP
fi

scripts/install-pdf-tools.sh || echo "note: poppler/qpdf not installed; PDFs are still written"

echo "== 1. offline: billing run"
rm -rf "$OUT/offline"
"$BILLING" run --contract "$CONTRACT" --events "$EVENTS" --out "$OUT/offline"

echo "== 2. contract through the rating API ($RATING)"
status=$(curl -sS -o "$OUT/contract-response.json" -w '%{http_code}' -X PUT \
    -H 'content-type: application/yaml' -H 'x-actor: demo' -H 'x-change-reason: demo onboarding' \
    --data-binary "@$CONTRACT" "$RATING/v1/contracts/acme")
case "$status" in
    200 | 201) echo "contract: HTTP $status" ;;
    *) echo "demo: loading the contract failed: HTTP $status $(cat "$OUT/contract-response.json")" >&2; exit 1 ;;
esac

echo "== 3. events to Kafka (${BILLING_KAFKA_BOOTSTRAP:-127.0.0.1:9092})"
"$BILLING" produce --events "$EVENTS"

echo "== 4. ingest ($INGEST) -> rating -> invoice ($INVOICE)"
"$PY" - "$OUT" "$CONTRACT" "$EVENTS" "$INGEST" "$RATING" "$INVOICE" <<'PYEOF'
import json
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from billing_core import Period, aggregate_events, period_of
from billing_io.contract_yaml import load_contract
from billing_io.events_jsonl import iter_events

out, contract_path, events_path = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
ingest, rating, invoice = sys.argv[4], sys.argv[5], sys.argv[6]
contract = load_contract(contract_path)
tenant = contract.tenant
COMPARED = ("currency", "total", "sites", "totals", "summary", "unbillable")


def wait(what: str, probe: Any, timeout: float = 300.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := probe()):
        if time.monotonic() > deadline:
            sys.exit(f"demo: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.5)
    return result


def read_json(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


expected = {
    period: sum(a.events for a in by_key.values())
    for period, by_key in aggregate_events(iter_events(events_path), contract.timezone, tenant).items()
}

with httpx.Client(timeout=60) as http:

    def held_events() -> dict[Period, int]:
        held = {}
        for period in expected:
            answer = http.get(f"{ingest}/v1/usage", params={"tenant": tenant, "period": str(period)})
            answer.raise_for_status()
            held[period] = sum(row["events"] for row in answer.json()["sites"])
        return held

    def all_held() -> dict[Period, int] | None:
        held = held_events()
        return held if all(held[p] >= n for p, n in expected.items()) else None

    started = time.monotonic()
    held = wait("ingest's aggregates to hold every distinct event", all_held)
    surplus = {str(p): held[p] - n for p, n in expected.items() if held[p] != n}
    if surplus:
        sys.exit(f"demo: ingest holds more events of {tenant} than the example file: {surplus}")
    print(f"ingest: {sum(expected.values())} distinct events in {len(expected)} periods "
          f"({time.monotonic() - started:.1f} s after producing)")

    now = datetime.now(UTC)
    current = period_of(now, contract.timezone)
    period = contract.start_period
    ended = []
    while period < current:
        ended.append(period)
        period = period.next()

    (out / "pipeline").mkdir(parents=True, exist_ok=True)
    rows = []
    for period in ended:
        closed = http.post(f"{rating}/v1/periods/{tenant}/{period}/close", headers={"x-actor": "demo"})
        if closed.status_code not in (200, 201):
            sys.exit(f"demo: closing {period} failed: HTTP {closed.status_code} {closed.text}")

        def issued(period: Period = period) -> dict[str, Any] | None:
            listing = http.get(f"{invoice}/v1/invoices", params={"tenant": tenant, "period": str(period)})
            found = [entry for entry in listing.json()["invoices"] if entry["status"] == "issued"]
            return found[0] if found else None

        entry = wait(f"the invoice of {period}", issued)
        folder = out / "pipeline" / str(period)
        folder.mkdir(exist_ok=True)
        body = http.get(f"{invoice}/v1/invoices/{entry['number']}")
        (folder / "invoice.json").write_bytes(body.content)
        pdf = folder / f"{entry['number']}.pdf"
        pdf.write_bytes(http.get(f"{invoice}/v1/invoices/{entry['number']}.pdf").content)
        rows.append((str(period), entry["number"], read_json(body), pdf))

    board = http.get(f"{rating}/v1/dashboard", params={"tenant": tenant, "period": str(current)})
    if board.status_code == 200 and "invoice" in read_json(board):
        rows.append((str(current), "open: dashboard", read_json(board)["invoice"], None))

print()
print(f"{'period':8} {'invoice':18} {'pipeline':>11} {'offline':>11}  site totals  all fields")
different = []
for period, number, ours, pdf in rows:
    path = out / "offline" / period / "invoice.json"
    if not path.is_file():
        print(f"{period:8} {number:18} {ours['total']:>11} {'-':>11}  (no offline invoice)")
        continue
    offline = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    sites_same = {s["site"]: s["total"] for s in ours["sites"]} == {s["site"]: s["total"] for s in offline["sites"]}
    fields_differing = [field for field in COMPARED if ours.get(field) != offline.get(field)]
    total_same = ours["total"] == offline["total"]
    print(f"{period:8} {number:18} {ours['total']:>11} {offline['total']:>11}  "
          f"{'equal' if sites_same else 'DIFFER':11}  {'equal' if not fields_differing else 'DIFFER: ' + ', '.join(fields_differing)}")
    if not (total_same and sites_same and not fields_differing):
        different.append(period)

print()
print(f"Offline invoices (JSON and PDF):    {out}/offline/<YYYY-MM>/invoice.{{json,pdf}}")
print(f"Issued by the invoice service:      {out}/pipeline/<YYYY-MM>/<number>.pdf")
for period, number, _, pdf in rows:
    if pdf is not None:
        print(f"  {period}  {pdf}")
if different:
    sys.exit(f"demo: the pipeline and the offline run differ for {', '.join(different)}")
print(f"Every issued invoice equals the offline `billing run` ({len([r for r in rows if r[3]])} invoices).")
PYEOF
