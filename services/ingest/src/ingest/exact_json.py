"""JSON output that keeps decimals exact: Decimal values are written as strings, never as floats."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _default(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"), ensure_ascii=False)


def dump_bytes(value: Any) -> bytes:
    return dumps(value).encode("utf-8")
