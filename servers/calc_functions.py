"""The numbers side of the calculator: exact powers and roots, size guards, and the function whitelist.

Every function takes the already-evaluated arguments and returns a ``Fraction`` when the answer
is exact, a ``float`` when it is not, or raises :class:`CalcError` with a one-line reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TypeVar

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_BITS",
    "MAX_FACTORIAL",
    "CalcError",
    "Number",
    "call_function",
    "check_size",
    "power",
    "to_float",
]

Number = Fraction | float
_N = TypeVar("_N", Fraction, float)
MAX_BITS = 100_000  # about 30,000 decimal digits in any numerator or denominator
MAX_FACTORIAL = 1000
_MAX_ROOT_DEGREE = 1000


class CalcError(ValueError):
    """An expression cannot be evaluated; the message says why in one line."""


def to_float(value: Number) -> float:
    """Convert for an approximate calculation, refusing values beyond float range."""
    try:
        result = float(value)
    except OverflowError as exc:
        raise CalcError("a number is too large for an approximate (floating-point) calculation") from exc
    return result


def check_size(value: _N) -> _N:
    """Refuse infinite floats and fractions with more than ``MAX_BITS`` bits."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CalcError("the result is too large (floating-point overflow)")
        return value
    if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
        raise CalcError(f"the result is too large (over {int(MAX_BITS * math.log10(2))} digits)")
    return value


def _integer_root(number: int, degree: int) -> int:
    """The largest ``r`` with ``r ** degree <= number`` (Newton's method on integers)."""
    if number < 2:
        return number
    guess = 1 << -(-number.bit_length() // degree)
    while True:
        better = ((degree - 1) * guess + number // guess ** (degree - 1)) // degree
        if better >= guess:
            return guess
        guess = better


def _exact_root(value: Fraction, degree: int) -> Fraction | None:
    """The rational ``degree``-th root of a non-negative fraction, when there is one."""
    if degree > _MAX_ROOT_DEGREE:
        return None
    top, bottom = _integer_root(value.numerator, degree), _integer_root(value.denominator, degree)
    if top**degree == value.numerator and bottom**degree == value.denominator:
        return Fraction(top, bottom)
    return None


def _integer_power(base: Fraction, exponent: int) -> Fraction:
    if base == 0 and exponent < 0:
        raise CalcError("division by zero (0 raised to a negative power)")
    if base in (0, 1) or exponent == 0:
        return base**exponent if exponent >= 0 else base
    if base == -1:
        return Fraction(-1 if exponent % 2 else 1)
    bits = max(base.numerator.bit_length(), base.denominator.bit_length())
    if (bits - 1) * abs(exponent) > MAX_BITS:
        raise CalcError(f"the exponent {exponent} is too large: the result would exceed {MAX_BITS} bits")
    return check_size(base**exponent)


def power(base: Number, exponent: Number) -> Number:
    """``base ** exponent``, exact for integer exponents and for rational roots that come out exact."""
    if isinstance(base, Fraction) and isinstance(exponent, Fraction):
        if exponent.denominator == 1:
            return _integer_power(base, exponent.numerator)
        odd_root = exponent.denominator % 2 == 1
        if base < 0 and not odd_root:
            raise CalcError("a negative number to a fractional power has no real result")
        root = _exact_root(abs(base), exponent.denominator)
        if root is not None:
            return _integer_power(-root if base < 0 else root, exponent.numerator)
        if base < 0:  # an odd root of a negative number: the sign follows the numerator's parity
            magnitude = power(-base, exponent)
            return -magnitude if exponent.numerator % 2 else magnitude
    elif base < 0 and not float(exponent).is_integer():
        raise CalcError("a negative number to a fractional power has no real result")
    if base == 0 and exponent < 0:
        raise CalcError("division by zero (0 raised to a negative power)")
    try:
        result = math.pow(to_float(base), to_float(exponent))
    except OverflowError as exc:
        raise CalcError("the result is too large (floating-point overflow)") from exc
    return check_size(result)


def _integer(name: str, value: Number) -> int:
    if isinstance(value, float) or value.denominator != 1:
        raise CalcError(f"{name} needs whole numbers, got {value}")
    return value.numerator


def _positive(name: str, value: Number) -> Number:
    if value <= 0:
        raise CalcError(f"{name} is only defined for positive numbers, got {value}")
    return value


def _log(value: Number, base: Number) -> Number:
    """Logarithm, exact when ``value`` is a whole power of a rational ``base``."""
    if base == 1:
        raise CalcError("log base 1 is undefined")
    if isinstance(value, Fraction) and isinstance(base, Fraction):
        guess = round((_ln(value)) / _ln(base))
        bits = max(base.numerator.bit_length(), base.denominator.bit_length())
        if abs(guess) * bits <= MAX_BITS and base**guess == value:
            return Fraction(guess)
    return check_size(_ln(value) / _ln(base))


def _ln(value: Number) -> float:
    """Natural logarithm of a positive number of any size (big integers never pass through float)."""
    if isinstance(value, float):
        return math.log(value)
    return math.log(value.numerator) - math.log(value.denominator)


def _sqrt(value: Number) -> Number:
    if value < 0:
        raise CalcError("sqrt of a negative number has no real result")
    return power(value, Fraction(1, 2))


def _round(value: Number, digits: Number = Fraction(0)) -> Number:
    """Round half away from zero to ``digits`` decimal places (negative: tens, hundreds...)."""
    places = _integer("round's second argument", digits)
    if abs(places) > 1000:
        raise CalcError("round can keep at most 1000 decimal places")
    exact = Fraction(value)
    scale = Fraction(10) ** places
    rounded = math.floor(abs(exact) * scale + Fraction(1, 2)) / scale
    return -rounded if exact < 0 else rounded


def _factorial(value: Number) -> Number:
    n = _integer("factorial", value)
    if n < 0:
        raise CalcError("factorial is only defined for whole numbers >= 0")
    if n > MAX_FACTORIAL:
        raise CalcError(f"factorial is limited to n <= {MAX_FACTORIAL}")
    return Fraction(math.factorial(n))


_Impl = Callable[..., Number]
_TABLE: dict[str, tuple[int, int | None, _Impl]] = {
    "sqrt": (1, 1, _sqrt),
    "abs": (1, 1, abs),
    "round": (1, 2, _round),
    "floor": (1, 1, lambda x: Fraction(math.floor(x))),
    "ceil": (1, 1, lambda x: Fraction(math.ceil(x))),
    "min": (1, None, min),
    "max": (1, None, max),
    "log": (1, 2, lambda x, base=Fraction(10): _log(_positive("log", x), _positive("log base", base))),
    "ln": (1, 1, lambda x: _log(_positive("ln", x), math.e) if x != 1 else Fraction(0)),
    "exp": (1, 1, lambda x: Fraction(1) if x == 0 else power(math.e, x)),
    "sin": (1, 1, lambda x: check_size(math.sin(to_float(x)))),
    "cos": (1, 1, lambda x: check_size(math.cos(to_float(x)))),
    "tan": (1, 1, lambda x: check_size(math.tan(to_float(x)))),
    "factorial": (1, 1, _factorial),
    "gcd": (1, None, lambda *xs: Fraction(math.gcd(*(_integer("gcd", x) for x in xs)))),
    "lcm": (1, None, lambda *xs: check_size(Fraction(math.lcm(*(_integer("lcm", x) for x in xs))))),
}


def call_function(name: str, args: Sequence[Number]) -> Number:
    """Call a whitelisted function after checking how many arguments it got."""
    low, high, impl = _TABLE[name]
    if len(args) < low or (high is not None and len(args) > high):
        expected = str(low) if low == high else f"{low} to {high}" if high else f"at least {low}"
        raise CalcError(f"{name} takes {expected} argument(s), got {len(args)}")
    return impl(*args)


FUNCTIONS: frozenset[str] = frozenset(_TABLE)
CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau}
