"""Semantic checks of one decoded CloudEvent, producing the UsageEvent the ledger stores.

The checks accept a subset of what schemas/events/usage-event.v1.json accepts (a test holds them to
that); they are written out by hand because a generic schema validator costs more per event than the
whole rest of the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from billing_core.money import quantity_problem
from ingest.classification import Classifier
from ingest.events import UsageEvent
from ingest.rejections import InvalidEvent, Reason

DEFAULT_QUANTITY = Decimal(1)
ACCEPTED_TEXTS_KEPT = 10_000
_PLAIN_EXPONENT = -6
_PLAIN_MAXIMUM = Decimal(10) ** 12

_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|z|[+-][0-9]{2}:[0-9]{2})"
)
_STORABLE_TIME = re.compile(
    r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:Z|z|[+-](?:0[0-9]|1[0-5]):[0-5][0-9])"
)
"""A time text PostgreSQL reads as exactly the instant Python does: no digits past microseconds
(PostgreSQL would round them, Python drops them), an offset within PostgreSQL's ±15:59, a
year of four digits from 1000 (earlier years are written from the UTC instant)."""
_QUANTITY_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_REQUIRED_ATTRIBUTES = ("id", "source", "type")
_OPTIONAL_TEXT_ATTRIBUTES = ("subject", "dataschema")
_DATA_CONTENT_TYPE = re.compile(r"application/(?:cloudevents\+)?json(?:;.*)?")

_new_event = tuple.__new__
"""UsageEvent from all its values without the named tuple's Python-level ``__new__``: a third of
building one, paid for every event checked."""

PeriodOf = Callable[[str, datetime], str]
"""(tenant, instant) → "YYYY-MM": the period the instant falls in, in that tenant's time zone."""


def parse_time(value: object) -> tuple[datetime, str]:
    """An RFC 3339 timestamp with an explicit offset; fractions beyond microseconds are truncated.

    Also the text to store it as: the received text when PostgreSQL reads it as the same instant
    (almost always, and it saves formatting the datetime again), else "" (write it from the datetime).
    """
    if type(value) is str and _STORABLE_TIME.fullmatch(value) is not None:
        stored = value
    elif not isinstance(value, str) or _TIME.fullmatch(value) is None:
        raise InvalidEvent(
            Reason.INVALID_TIME,
            f"time {value!r} is not an RFC 3339 timestamp with offset (e.g. 2026-03-14T10:22:31Z)",
        )
    else:
        stored = ""
    try:
        return datetime.fromisoformat(value), stored
    except ValueError as exc:
        raise InvalidEvent(Reason.INVALID_TIME, f"time {value!r}: {exc}") from None


def parse_quantity(value: object) -> Decimal:
    """A decimal literal or JSON number meeting billing_core's quantity rule (> 0, ≤ 10^12, 6 digits).

    Only an absent quantity means 1; an explicit null is refused as ambiguous.
    """
    if isinstance(value, bool) or value is None:
        raise InvalidEvent(Reason.INVALID_QUANTITY, f"data.quantity {value!r} is not a decimal")
    if isinstance(value, str):
        if _QUANTITY_TEXT.fullmatch(value) is None:
            raise InvalidEvent(Reason.INVALID_QUANTITY, f"data.quantity {value!r} is not a positive decimal")
        try:
            quantity = Decimal(value)
        except InvalidOperation:
            raise InvalidEvent(Reason.INVALID_QUANTITY, f"data.quantity {value!r} is not a decimal") from None
    elif isinstance(value, int | Decimal):
        quantity = Decimal(value)
    else:
        raise InvalidEvent(Reason.INVALID_QUANTITY, f"data.quantity {value!r} is not a decimal")
    exponent = quantity.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= _PLAIN_EXPONENT and 0 < quantity <= _PLAIN_MAXIMUM:
        return quantity  # clearly fine; anything else gets billing_core's verdict and wording
    problem = quantity_problem(quantity)
    if problem is not None:
        raise InvalidEvent(Reason.INVALID_QUANTITY, f"data.{problem}")
    return quantity


def _text(container: dict[str, Any], name: str, where: str, missing: Reason, invalid: Reason) -> str:
    value = container.get(name)
    if value is None:
        raise InvalidEvent(missing, f"{where}{name} is missing")
    if not isinstance(value, str) or not value:
        raise InvalidEvent(invalid, f"{where}{name} must be a non-empty string, got {value!r}")
    return value


def _check_optional_attributes(envelope: dict[str, Any]) -> None:
    for name in _OPTIONAL_TEXT_ATTRIBUTES:
        value = envelope.get(name, "")
        if not isinstance(value, str):
            raise InvalidEvent(Reason.INVALID_ATTRIBUTE, f"{name} must be a string, got {value!r}")
    if "datacontenttype" not in envelope:
        return
    content_type = envelope["datacontenttype"]
    if not isinstance(content_type, str) or _DATA_CONTENT_TYPE.fullmatch(content_type) is None:
        raise InvalidEvent(Reason.INVALID_ATTRIBUTE, f"datacontenttype {content_type!r} is not JSON")


class EventChecker:
    """Checks a decoded event and classifies it; one instance per service, shared by HTTP and Kafka."""

    def __init__(self, classifier: Classifier, period_of: PeriodOf) -> None:
        self._classifier = classifier
        self._period_of = period_of
        self._accepted_texts: dict[str, Decimal] = {}
        """Quantity texts already accepted: streams repeat a few values, and Decimal is immutable."""

    def _quantity(self, value: object) -> Decimal:
        if type(value) is str:
            known = self._accepted_texts.get(value)
            if known is not None:
                return known
            quantity = parse_quantity(value)
            if len(self._accepted_texts) >= ACCEPTED_TEXTS_KEPT:
                self._accepted_texts.clear()
            self._accepted_texts[value] = quantity
            return quantity
        return parse_quantity(value)

    def check(self, envelope: dict[str, Any], payload: bytes) -> UsageEvent:
        """The hot path: plain type tests first; any doubt goes to the explaining checks."""
        get = envelope.get
        event_id, source, event_type = get("id"), get("source"), get("type")
        if not (
            get("specversion") == "1.0"
            and type(event_id) is str
            and event_id
            and type(source) is str
            and source
            and type(event_type) is str
            and event_type
        ):
            _explain_attributes(envelope)
        if (
            "subject" in envelope
            or "dataschema" in envelope
            or ("datacontenttype" in envelope and get("datacontenttype") != "application/json")
        ):
            _check_optional_attributes(envelope)
        if "time" not in envelope:
            raise InvalidEvent(Reason.MISSING_ATTRIBUTE, "time is missing (the period is decided by it)")
        attributes = cast(tuple[str, str, str], (source, event_id, event_type))
        return self.complete(*attributes, envelope["time"], get("data"), payload)

    def complete(
        self, source: str, event_id: str, event_type: str, time: object, data: object, payload: bytes
    ) -> UsageEvent:
        """The checks after the required attributes: time, data, quantity, category, period."""
        instant, time_text = parse_time(time)
        if type(data) is not dict:
            if data is None:
                raise InvalidEvent(Reason.MISSING_ATTRIBUTE, "data is missing")
            raise InvalidEvent(Reason.INVALID_DATA, "data must be a JSON object")
        tenant: Any = data.get("tenant_id")  # Any, not cast(): a call per event for nothing
        site: Any = data.get("site_id")
        if not (type(tenant) is str and tenant and type(site) is str and site):
            _explain_text(data, "tenant_id")
            _explain_text(data, "site_id")
        if "category" in data:
            category = data["category"]
            if type(category) is not str or not category:
                _explain_text(data, "category")
        quantity = self._quantity(data["quantity"]) if "quantity" in data else DEFAULT_QUANTITY
        category = self._classifier.category(event_type, data)
        try:
            period = self._period_of(tenant, instant)
        except (ValueError, OverflowError) as exc:
            raise InvalidEvent(Reason.INVALID_TIME, f"time {time!r} has no billing period: {exc}") from None
        joined = source + event_id + event_type + tenant + site + category
        if not joined.isascii() or "\x00" in joined:
            _explain_unstorable(source=source, id=event_id, type=event_type)
            _explain_unstorable(**{"data.tenant_id": tenant, "data.site_id": site, "category": category})
        return _new_event(UsageEvent, (
            source, event_id, instant, event_type, tenant, site, category, period,
            quantity, payload, time_text,
        ))  # fmt: skip


def _explain_unstorable(**texts: str) -> None:
    """Refuse a text PostgreSQL cannot store: a NUL character, or a lone surrogate (not UTF-8).

    Such an event would fail its batch's write on every retry and hold its partition up."""
    for name, text in texts.items():
        reason = Reason.INVALID_ATTRIBUTE if "." not in name and name != "category" else Reason.INVALID_DATA
        if "\x00" in text:
            raise InvalidEvent(reason, f"{name} {text!r} contains a NUL character, which cannot be stored")
        try:
            text.encode()
        except UnicodeEncodeError:
            raise InvalidEvent(reason, f"{name} {text!r} is not valid Unicode (a lone surrogate)") from None


def _explain_attributes(envelope: dict[str, Any]) -> None:
    specversion = envelope.get("specversion")
    if specversion is None:
        raise InvalidEvent(Reason.MISSING_ATTRIBUTE, "specversion is missing")
    if specversion != "1.0":
        raise InvalidEvent(Reason.INVALID_ATTRIBUTE, f"specversion {specversion!r} is not 1.0")
    for name in _REQUIRED_ATTRIBUTES:
        _text(envelope, name, "", Reason.MISSING_ATTRIBUTE, Reason.INVALID_ATTRIBUTE)


def _explain_text(data: dict[str, Any], name: str) -> None:
    _text(data, name, "data.", Reason.MISSING_FIELD, Reason.INVALID_DATA)
