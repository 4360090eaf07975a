"""Display formatting of the decimal strings found in canonical invoice JSON.

The renderer never does arithmetic on money: every amount is already rounded by
billing_core, so these helpers only add grouping separators and currency symbols
and keep the digits exactly as they appear in the JSON.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from billing_io.pdf_errors import InvoiceRenderError

MINUS_SIGN = "\u2212"

_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥"}


def parse_decimal(value: object, where: str) -> Decimal:
    """Read a JSON decimal (string or integer) without ever passing through float."""
    if isinstance(value, bool | float):
        raise InvoiceRenderError(f"{where}: {value!r} is not an exact decimal string")
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int | str):
        try:
            parsed = Decimal(str(value))
        except InvalidOperation:
            raise InvoiceRenderError(f"{where}: {value!r} is not a decimal number") from None
    else:
        raise InvoiceRenderError(f"{where}: expected a decimal string, got {type(value).__name__}")
    if not parsed.is_finite():
        raise InvoiceRenderError(f"{where}: {value!r} is not a finite decimal number")
    return parsed


def group_digits(number: Decimal) -> str:
    """'1234.50' -> '1,234.50' keeping every fractional digit as given; sign handled by callers."""
    return f"{abs(number):,f}"


def format_money(value: object, currency: str, where: str) -> str:
    """'-1234.5' USD -> '−$1,234.5'; unknown currencies are shown by code ('CHF 12.00')."""
    number = parse_decimal(value, where)
    symbol = _SYMBOLS.get(currency)
    body = f"{symbol}{group_digits(number)}" if symbol else f"{currency} {group_digits(number)}"
    return f"{MINUS_SIGN}{body}" if number.is_signed() and number != 0 else body


def format_signed_money(value: object, currency: str, where: str) -> str:
    """Like format_money but with an explicit '+' on positive amounts (adjustment columns)."""
    number = parse_decimal(value, where)
    text = format_money(number, currency, where)
    return f"+{text}" if number > 0 else text


def format_quantity(value: object, where: str) -> str:
    number = parse_decimal(value, where)
    text = group_digits(number)
    return f"{MINUS_SIGN}{text}" if number.is_signed() and number != 0 else text
