"""How the calculator shows numbers: exact where short, approximate where not, never unbounded.

Kept apart from the arithmetic so error messages can name a value safely: Python refuses to
turn an integer of more than 4,300 digits into text, and a long number helps nobody anyway.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

__all__ = ["digits", "format_value", "short"]

_MAX_SHOWN_DIGITS = 4000
_MAX_DECIMALS = 50
_MAX_SHORT_DIGITS = 30


def digits(number: int) -> int:
    """Decimal digits of ``abs(number)``, from its bit length (exact or one too many, never short)."""
    return math.floor(abs(number).bit_length() * math.log10(2)) + 1


def format_value(value: Fraction | float | bool) -> str:
    """Integers and terminating decimals exactly; other fractions as ``p/q ≈ decimal``; floats as ``≈ x``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"≈ {value:.15g}"
    numerator, denominator = value.numerator, value.denominator
    if digits(numerator) + digits(denominator) > _MAX_SHOWN_DIGITS:
        return f"≈ {_approximate(value)} (the exact value has too many digits to show)"
    if denominator == 1:
        return str(numerator)
    decimal = _terminating_decimal(value)
    if decimal is not None:
        return decimal
    return f"{numerator}/{denominator} ≈ {_approximate(value)}"


def short(value: Fraction | float) -> str:
    """A value for an error message: exact when short, else an approximation marked ``≈``."""
    if isinstance(value, float):
        return f"{value:.15g}"
    if digits(value.numerator) + digits(value.denominator) <= _MAX_SHORT_DIGITS:
        return str(value)
    return f"≈ {_approximate(value)}"


def _terminating_decimal(value: Fraction) -> str | None:
    rest = value.denominator
    twos = (rest & -rest).bit_length() - 1
    if twos > _MAX_DECIMALS:
        return None
    rest >>= twos
    fives = 0
    while rest % 5 == 0 and fives <= _MAX_DECIMALS:
        rest //= 5
        fives += 1
    places = max(twos, fives)
    if rest != 1 or places > _MAX_DECIMALS:
        return None
    scaled = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{scaled[:-places]}.{scaled[-places:]}"


def _approximate(value: Fraction) -> str:
    with localcontext() as context:
        context.prec = 15
        return format((Decimal(value.numerator) / Decimal(value.denominator)).normalize(), "g")
