"""The numbers side of the calculator: exact powers and roots, size guards, and the function whitelist.

Every function takes the already-evaluated arguments and returns a ``Fraction`` when the answer
is exact, a ``float`` when it is not, or raises :class:`CalcError` with a one-line reason. Sizes
are estimated before anything big is built (``9**9**9`` is refused from its logarithm, never
computed), so no single step can hold the CPU for long.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TypeVar

from servers.calc_format import digits, short

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "MAX_DIGITS",
    "CalcError",
    "Number",
    "TooLarge",
    "call_function",
    "check_size",
    "literal_digits",
    "power",
    "to_float",
]

Number = Fraction | float
_N = TypeVar("_N", Fraction, float)
MAX_DIGITS = 10_000  # in any numerator or denominator; keeps every step to milliseconds
_FIRST_TOO_LARGE = 10**MAX_DIGITS  # the smallest integer with more than MAX_DIGITS digits
_MAX_ROOT_DEGREE = 1000


class CalcError(ValueError):
    """An expression cannot be evaluated; the message says why in one line."""


class TooLarge(CalcError):
    """A result would have more than ``MAX_DIGITS`` digits; raised before the number is built.

    Attributes:
        digits: The estimated number of digits of the refused result.
        subject: The part of the expression that produced it, once the evaluator knows it.
    """

    def __init__(self, digits: int, subject: str | None = None) -> None:
        self.digits = digits
        self.subject = subject
        super().__init__(
            f"result too large: {subject or 'it'} would have about {_count(digits)} digits "
            f"(limit {MAX_DIGITS:,})"
        )

    def about(self, subject: str) -> TooLarge:
        """The same refusal, naming the part of the expression that produced it."""
        return TooLarge(self.digits, subject)


def _count(number: int) -> str:
    """``12,345`` while readable, ``10**19728`` beyond (Python will not print huge integers)."""
    return f"{number:,}" if number < 10**15 else f"10**{math.floor(math.log10(number))}"


def to_float(value: Number) -> float:
    """Convert for an approximate calculation, refusing values beyond float range."""
    try:
        result = float(value)
    except OverflowError as exc:
        raise CalcError("a number is too large for an approximate (floating-point) calculation") from exc
    return result


def check_size(value: _N) -> _N:
    """Refuse infinite floats and fractions with more than ``MAX_DIGITS`` digits."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CalcError("the result is too large (floating-point overflow)")
        return value
    largest = max(abs(value.numerator), value.denominator)
    if largest >= _FIRST_TOO_LARGE:
        raise TooLarge(digits(largest))
    return value


def literal_digits(mantissa: str, exponent: int) -> int:
    """Digits a decimal literal ``mantissa e exponent`` needs as a fraction, without building it."""
    whole, _, fraction = mantissa.partition(".")
    return len(whole.lstrip("0") + fraction) + abs(exponent - len(fraction))


def _power_digits(magnitude: int, exponent: int) -> int:
    """Digits of ``magnitude ** abs(exponent)`` (``magnitude >= 2``), from logarithms alone."""
    return math.floor(abs(exponent) * Fraction(math.log10(magnitude))) + 1


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
    size = _power_digits(max(abs(base.numerator), base.denominator), exponent)
    if size > MAX_DIGITS:
        raise TooLarge(size)
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
    elif base < 0 and not to_float(exponent).is_integer():
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
        raise CalcError(f"{name} needs whole numbers, got {short(value)}")
    return value.numerator


def _positive(name: str, value: Number) -> Number:
    if value <= 0:
        raise CalcError(f"{name} is only defined for positive numbers, got {short(value)}")
    return value


def _log(value: Number, base: Number) -> Number:
    """Logarithm, exact when ``value`` is a whole power of a rational ``base``."""
    if base == 1:
        raise CalcError("log base 1 is undefined")
    ln_base = _ln(base)
    if ln_base == 0:
        raise CalcError(f"log base {short(base)} is too close to 1 for a floating-point result")
    ratio = check_size(_ln(value) / ln_base)
    if isinstance(value, Fraction) and isinstance(base, Fraction):
        guess = round(ratio)
        small = _power_digits(max(abs(base.numerator), base.denominator), guess) <= MAX_DIGITS
        if small and base**guess == value:
            return Fraction(guess)
    return ratio


def _ln(value: Number) -> float:
    """Natural logarithm of a positive number of any size (big integers never pass through float)."""
    if isinstance(value, float):
        return math.log(value)
    top, bottom = value.numerator, value.denominator
    if 2 * abs(top - bottom) < bottom:  # near 1, log1p keeps the digits a difference of logs loses
        return math.log1p(float(Fraction(top - bottom, bottom)))
    return math.log(top) - math.log(bottom)


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
    return check_size(-rounded if exact < 0 else rounded)


def _factorial(value: Number) -> Number:
    n = _integer("factorial", value)
    if n < 0:
        raise CalcError("factorial is only defined for whole numbers >= 0")
    size = _factorial_digits(n)
    if size > MAX_DIGITS:
        raise TooLarge(size)
    return Fraction(math.factorial(n))


def _factorial_digits(n: int) -> int:
    """Digits of ``n!`` from the log-gamma function, or Stirling's formula for huge ``n``."""
    if n < 10**6:
        return math.floor(math.lgamma(n + 1) / math.log(10)) + 1
    return math.floor(n * Fraction(math.log10(n) - math.log10(math.e))) + 1


def _lcm(*values: Number) -> Number:
    """Least common multiple, checked after each step so many large arguments cannot pile up."""
    result = 1
    for value in values:
        result = check_size(Fraction(math.lcm(result, _integer("lcm", value)))).numerator
    return Fraction(result)


_Impl = Callable[..., Number]
_TABLE: dict[str, tuple[int, int | None, _Impl]] = {
    "sqrt": (1, 1, _sqrt),
    "abs": (1, 1, abs),
    "round": (1, 2, _round),
    "floor": (1, 1, lambda x: Fraction(math.floor(x))),
    "ceil": (1, 1, lambda x: Fraction(math.ceil(x))),
    "min": (1, None, lambda *xs: min(xs)),
    "max": (1, None, lambda *xs: max(xs)),
    "log": (1, 2, lambda x, base=Fraction(10): _log(_positive("log", x), _positive("log base", base))),
    "ln": (1, 1, lambda x: _log(_positive("ln", x), math.e) if x != 1 else Fraction(0)),
    "exp": (1, 1, lambda x: Fraction(1) if x == 0 else power(math.e, x)),
    "sin": (1, 1, lambda x: check_size(math.sin(to_float(x)))),
    "cos": (1, 1, lambda x: check_size(math.cos(to_float(x)))),
    "tan": (1, 1, lambda x: check_size(math.tan(to_float(x)))),
    "factorial": (1, 1, _factorial),
    "gcd": (1, None, lambda *xs: Fraction(math.gcd(*(_integer("gcd", x) for x in xs)))),
    "lcm": (1, None, _lcm),
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
