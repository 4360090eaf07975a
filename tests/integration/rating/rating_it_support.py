"""Shared helpers of the rating integration tests (a module name no other test directory uses)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_CONTRACT = REPO / "examples" / "contract.yaml"
EXAMPLE_EVENTS = REPO / "examples" / "events.jsonl"
BILLING = str(Path(sys.executable).parent / "billing")


def contract_yaml(tenant: str) -> str:
    return re.sub(r"(?m)^tenant: acme$", f"tenant: {tenant}", EXAMPLE_CONTRACT.read_text())


def billing_run(contract: Path, out: Path) -> dict[str, dict[str, Any]]:
    """`billing run` on the example events; its invoice JSON per period."""
    command = [
        BILLING,
        "run",
        "--contract",
        str(contract),
        "--events",
        str(EXAMPLE_EVENTS),
        "--out",
        str(out),
    ]
    run = subprocess.run(command, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise AssertionError(f"billing run failed: {run.stderr}")
    return {path.parent.name: json.loads(path.read_text()) for path in sorted(out.glob("*/invoice.json"))}
