"""Usage events from a JSON Lines file: one CloudEvents 1.0 JSON object per line.

Each event is checked as the platform's ingest would check it and becomes a
``billing_core.UsageEvent`` (the type rating aggregates). A bad one is
reported with its file, line number and the field at fault, so a finance user can
fix the file instead of guessing. Quantities are parsed as Decimal from the raw
JSON text; a float never exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from billing_core import UsageEvent, quantity_problem

__all__ = [
    "SPEC_VERSION",
    "EventError",
    "EventFileError",
    "default_category",
    "iter_events",
    "parse_event",
    "read_events",
]

SPEC_VERSION = "1.0"


class EventError(ValueError):
    """One unusable event: where it is and which field is wrong."""

    def __init__(self, source: str, line: int, field: str, reason: str) -> None:
        self.source = source
        self.line = line
        self.field = field
        self.reason = reason
        super().__init__(f"{source}:{line}: {field}: {reason}")


class EventFileError(ValueError):
    """Every unusable event of a file, so all of them can be fixed in one pass."""

    def __init__(self, errors: list[EventError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(error) for error in errors))


Classifier = Callable[[str, Mapping[str, Any]], object]
"""Chooses the billing category from the event type and data; default: ``data.category``."""


def default_category(event_type: str, data: Mapping[str, Any]) -> object:
    return data.get("category")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


class _Checker:
    """Field checks that all raise EventError naming the same file and line."""

    def __init__(self, source: str, line: int) -> None:
        self.source = source
        self.line = line

    def fail(self, field: str, reason: str) -> EventError:
        return EventError(self.source, self.line, field, reason)

    def text(self, obj: Mapping[str, Any], key: str, field: str) -> str:
        if key not in obj or obj[key] is None:
            raise self.fail(field, "missing")
        value = obj[key]
        if not isinstance(value, str):
            raise self.fail(field, f"must be a string, got {type(value).__name__}")
        if not value.strip():
            raise self.fail(field, "must not be empty")
        return value

    def time(self, obj: Mapping[str, Any]) -> datetime:
        raw = self.text(obj, "time", "time")
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise self.fail("time", f"not an RFC 3339 timestamp: {raw!r}") from exc
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise self.fail("time", f"needs a UTC offset or 'Z': {raw!r}")
        return moment

    def quantity(self, data: Mapping[str, Any]) -> Decimal:
        if "quantity" not in data:
            return Decimal(1)
        raw = data["quantity"]
        if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
            raise self.fail("data.quantity", f"must be a decimal string or number, got {_json_kind(raw)}")
        try:
            value = Decimal(raw.strip() if isinstance(raw, str) else raw)
        except InvalidOperation as exc:
            raise self.fail("data.quantity", f"not a decimal number: {raw!r}") from exc
        problem = quantity_problem(value)
        if problem is not None:
            raise self.fail("data.quantity", problem)
        return value


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", bool: "boolean"}.get(type(value), type(value).__name__)


def parse_event(
    text: str, *, source: str = "<events>", line: int = 0, classify: Classifier = default_category
) -> UsageEvent:
    """Parse and check one JSON Lines record; raises EventError naming the line and the field."""
    check = _Checker(source, line)
    try:
        obj = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise check.fail("(json)", f"{exc.msg} at column {exc.colno}") from exc
    except ValueError as exc:
        raise check.fail("(json)", str(exc)) from exc
    if not isinstance(obj, dict):
        raise check.fail("(event)", f"must be a JSON object, got {_json_kind(obj)}")
    if obj.get("specversion") != SPEC_VERSION:
        found = "missing" if "specversion" not in obj else repr(obj["specversion"])
        raise check.fail("specversion", f"must be {SPEC_VERSION!r}, got {found}")
    event_id = check.text(obj, "id", "id")
    event_source = check.text(obj, "source", "source")
    event_type = check.text(obj, "type", "type")
    moment = check.time(obj)
    data = obj.get("data")
    if not isinstance(data, dict):
        raise check.fail("data", f"must be a JSON object, got {_json_kind(data)}")
    tenant = check.text(data, "tenant_id", "data.tenant_id")
    site = check.text(data, "site_id", "data.site_id")
    category = check.text({"category": classify(event_type, data)}, "category", "data.category")
    return UsageEvent(
        source=event_source,
        id=event_id,
        time=moment,
        tenant=tenant,
        site=site,
        category=category,
        quantity=check.quantity(data),
    )


def _records(path: str | Path, classify: Classifier) -> Iterator[UsageEvent | EventError]:
    """Each non-blank line as an event or as the error that makes it unusable, in file order."""
    source = str(path)
    with Path(path).open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield EventError(source, number, "(encoding)", f"not UTF-8 text at byte {exc.start}")
                continue
            if not text.strip():
                continue
            try:
                yield parse_event(text, source=source, line=number, classify=classify)
            except EventError as error:
                yield error


def iter_events(path: str | Path, *, classify: Classifier = default_category) -> Iterator[UsageEvent]:
    """Stream the events of a file; the first bad one raises EventError. Blank lines are skipped."""
    for record in _records(path, classify):
        if isinstance(record, EventError):
            raise record
        yield record


def read_events(
    path: str | Path, *, classify: Classifier = default_category, max_errors: int = 50
) -> list[UsageEvent]:
    """Read a whole file, collecting up to ``max_errors`` bad events before raising EventFileError."""
    events: list[UsageEvent] = []
    errors: list[EventError] = []
    for record in _records(path, classify):
        if isinstance(record, EventError):
            errors.append(record)
            if len(errors) >= max_errors:
                break
        else:
            events.append(record)
    if errors:
        raise EventFileError(errors)
    return events
