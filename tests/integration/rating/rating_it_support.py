"""Shared helpers of the rating integration tests (a module name no other test directory uses)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_CONTRACT = REPO / "examples" / "contract.yaml"
EXAMPLE_EVENTS = REPO / "examples" / "events.jsonl"
BILLING = str(Path(sys.executable).parent / "billing")


def contract_yaml(tenant: str) -> str:
    return re.sub(r"(?m)^tenant: acme$", f"tenant: {tenant}", EXAMPLE_CONTRACT.read_text())
