#!/usr/bin/env bash
# The whole pipeline on the examples, after `make up`:
#   1. offline: `billing run` writes out/offline/<YYYY-MM>/invoice.{json,pdf};
#   2. services: the contract goes to rating, the events to ingest (HTTP batches), every ended
#      period is closed in turn, and the invoice service issues each invoice; its JSON and PDF
#      are downloaded to out/pipeline/<YYYY-MM>/.
# Running it again is harmless: events are de-duplicated, closes and invoices are idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=${DEMO_OUT:-out}
INGEST=${INGEST_URL:-http://127.0.0.1:8101}
RATING=${RATING_URL:-http://127.0.0.1:8102}
INVOICE=${INVOICE_URL:-http://127.0.0.1:8103}

scripts/install-pdf-tools.sh || echo "note: poppler/qpdf not installed; PDFs are still written"

echo "== offline: billing run"
.venv/bin/billing run --contract examples/contract.yaml --events examples/events.jsonl --out "$OUT/offline"

echo "== services: ingest $INGEST, rating $RATING, invoice $INVOICE"
"$PY" - "$OUT/pipeline" "$INGEST" "$RATING" "$INVOICE" <<'PYEOF'
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

out, ingest, rating, invoice = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
contract = Path("examples/contract.yaml").read_bytes()
lines = [line for line in Path("examples/events.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
tenant = "acme"


def wait(what, probe, timeout=180.0):
    deadline = time.monotonic() + timeout
    while (result := probe()) is None or result is False:
        if time.monotonic() > deadline:
            sys.exit(f"demo: timed out waiting for {what}")
        time.sleep(0.5)
    return result


with httpx.Client(timeout=60) as http:
    response = http.put(f"{rating}/v1/contracts/{tenant}", content=contract, headers={"content-type": "application/yaml"})
    print(f"contract: HTTP {response.status_code}")
    response.raise_for_status()
    for start in range(0, len(lines), 500):
        batch = "[" + ",".join(lines[start : start + 500]) + "]"
        http.post(f"{ingest}/v1/events", content=batch,
                  headers={"content-type": "application/cloudevents-batch+json"}).raise_for_status()
    print(f"events: {len(lines)} sent to ingest")

    periods = sorted({json.loads(line)["time"][:7] for line in lines})
    now = datetime.now(UTC)
    ended = [p for p in periods if (int(p[:4]), int(p[5:])) < (now.year, now.month)]
    out.mkdir(parents=True, exist_ok=True)
    for period in ended:
        closed = http.post(f"{rating}/v1/periods/{tenant}/{period}/close")
        if closed.status_code >= 400:
            sys.exit(f"demo: closing {period} failed: HTTP {closed.status_code} {closed.text}")

        def issued(period=period):
            listing = http.get(f"{invoice}/v1/invoices", params={"tenant": tenant, "period": period}).json()
            found = [entry for entry in listing["invoices"] if entry["status"] == "issued"]
            return found[0] if found else None

        entry = wait(f"the invoice of {period}", issued)
        folder = out / period
        folder.mkdir(exist_ok=True)
        (folder / "invoice.json").write_bytes(http.get(f"{invoice}/v1/invoices/{entry['number']}").content)
        pdf = folder / f"{entry['number']}.pdf"
        pdf.write_bytes(http.get(f"{invoice}/v1/invoices/{entry['number']}.pdf").content)
        print(f"{period}  {entry['number']}  {entry['currency']} {entry['total']:>10}  {pdf}")
PYEOF

echo
echo "Offline invoices (JSON and PDF): $OUT/offline/<YYYY-MM>/"
echo "Issued by the invoice service:  $OUT/pipeline/<YYYY-MM>/<number>.pdf"
