"""The body of POST /v1/invoices/{number}/credit-notes, read with exact decimals.

Amounts may be JSON strings or numbers; numbers are parsed as Decimal, never as float,
so "12.10" and 12.10 ask for the same credit.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from billing_core import SiteCredit
from invoice.crediting import CreditRequest

MAX_REASON = 500
MAX_KEY = 200


class CreditRequestError(ValueError):
    """The request body is not a usable credit request; the message names the field."""


def _site_credit(raw: Any, where: str) -> SiteCredit:
    if isinstance(raw, str) and raw:
        return SiteCredit(raw)
    if not isinstance(raw, dict):
        raise CreditRequestError(f'{where}: expected a site id or {{"site", "amount"}}, got {raw!r}')
    unknown = sorted(set(raw) - {"site", "amount"})
    if unknown:
        raise CreditRequestError(f"{where}: unknown fields {unknown}")
    site = raw.get("site")
    if not isinstance(site, str) or not site:
        raise CreditRequestError(f"{where}.site: expected a site id, got {site!r}")
    amount = raw.get("amount")
    if amount is None:
        return SiteCredit(site)
    if isinstance(amount, bool) or not isinstance(amount, str | int | Decimal):
        raise CreditRequestError(f"{where}.amount: expected a decimal, got {amount!r}")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise CreditRequestError(f"{where}.amount: {amount!r} is not a decimal") from None
    if not value.is_finite():
        raise CreditRequestError(f"{where}.amount: {amount!r} is not a finite decimal")
    return SiteCredit(site, value)


def parse_credit_request(body: bytes, actor: str | None, idempotency_key: str | None = None) -> CreditRequest:
    if actor is None or not actor.strip():
        raise CreditRequestError("X-Actor: the header naming who asks for the credit note is required")
    if idempotency_key is not None and not 0 < len(idempotency_key.strip()) <= MAX_KEY:
        raise CreditRequestError(f"Idempotency-Key: expected 1 to {MAX_KEY} characters")
    try:
        data = json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CreditRequestError(f"body: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CreditRequestError("body: expected a JSON object with 'reason' and optional 'sites'")
    unknown = sorted(set(data) - {"reason", "sites"})
    if unknown:
        raise CreditRequestError(f"body: unknown fields {unknown}")
    reason = data.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise CreditRequestError("reason: a non-empty text saying why the invoice is credited is required")
    if len(reason) > MAX_REASON:
        raise CreditRequestError(f"reason: at most {MAX_REASON} characters, got {len(reason)}")
    raw_sites = data.get("sites")
    sites: list[SiteCredit] | None = None
    if raw_sites is not None:
        if not isinstance(raw_sites, list) or not raw_sites:
            raise CreditRequestError("sites: expected a non-empty list (leave it out to credit every site)")
        sites = [_site_credit(raw, f"sites[{index}]") for index, raw in enumerate(raw_sites)]
    key = None if idempotency_key is None else idempotency_key.strip()
    return CreditRequest(reason=reason.strip(), actor=actor.strip(), sites=sites, idempotency_key=key)
