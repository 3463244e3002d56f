"""Exact arithmetic on expressions: an ``ast`` walker over a whitelist, never ``eval``.

Numbers are ``Fraction`` while the result is exact (so ``0.1 + 0.2`` is ``0.3``) and become
``float`` only when a function or power has no exact answer. Limits on input length, nesting
and result size keep a hostile expression from burning CPU or memory.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction

from servers.calc_functions import (
    CONSTANTS,
    FUNCTIONS,
    CalcError,
    Number,
    call_function,
    check_size,
    power,
    to_float,
)

__all__ = ["MAX_DEPTH", "MAX_LENGTH", "CalcError", "Value", "calculate", "evaluate", "format_value"]

Value = Number | bool

MAX_LENGTH = 1000
MAX_DEPTH = 60
_MAX_SHOWN_DIGITS = 4000
_MAX_DECIMALS = 50
_SYMBOLS = {"^": "**", "×": "*", "÷": "/", "−": "-"}  # noqa: RUF001 - the point is to accept these
_DIVISIONS: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_SIMPLE: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
}
_COMPARISONS: dict[type[ast.cmpop], Callable[[Number, Number], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def evaluate(expression: str) -> Value:
    """Evaluate an arithmetic expression exactly where possible.

    Raises:
        CalcError: Syntax error, unsupported construct, unknown name, domain error, division by
            zero, or a limit exceeded; the message is one line meant for the caller.
    """
    text = expression.strip()
    if not text:
        raise CalcError("the expression is empty")
    if len(text) > MAX_LENGTH:
        raise CalcError(f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    for symbol, python in _SYMBOLS.items():
        text = text.replace(symbol, python)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = (
            f" at column {exc.offset}"
            if exc.offset and exc.offset >= 1
            else " (the expression looks incomplete)"
        )
        raise CalcError(f"syntax error{where}: {exc.msg}") from exc
    except (RecursionError, MemoryError) as exc:
        raise CalcError("the expression is nested too deeply") from exc
    return _Walker(text).visit(tree.body, 0)


def calculate(expression: str) -> str:
    """Evaluate and format in one step (what the calc tool returns)."""
    return format_value(evaluate(expression))


class _Walker:
    def __init__(self, source: str) -> None:
        self.source = source

    def visit(self, node: ast.expr, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise CalcError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        match node:
            case ast.Constant(value=bool()) | ast.Constant(value=str() | bytes() | None):
                raise CalcError(f"{self._segment(node)} is not a number")
            case ast.Constant(value=int() as integer):
                return Fraction(integer)
            case ast.Constant(value=float()):
                return Fraction(self._segment(node).replace("_", ""))
            case ast.Constant():
                raise CalcError(f"{self._segment(node)}: complex numbers are not supported")
            case ast.UnaryOp(op=ast.USub() | ast.UAdd() as op, operand=operand):
                value = self.number(operand, depth)
                return -value if isinstance(op, ast.USub) else value
            case ast.BinOp(left=left, op=op, right=right):
                return self.binary(op, self.number(left, depth), self.number(right, depth))
            case ast.Compare(left=left, ops=ops, comparators=comparators):
                return self.compare(left, ops, comparators, depth)
            case ast.Name(id=name):
                if name in CONSTANTS:
                    return CONSTANTS[name]
                hint = " (it is a function: call it with parentheses)" if name in FUNCTIONS else ""
                raise CalcError(f"unknown name {name!r}{hint}; constants: {', '.join(sorted(CONSTANTS))}")
            case ast.Call(func=ast.Name(id=name), args=args, keywords=[]):
                if name not in FUNCTIONS:
                    raise CalcError(f"unknown function {name!r}; available: {', '.join(sorted(FUNCTIONS))}")
                if any(isinstance(arg, ast.Starred) for arg in args):
                    raise CalcError("argument unpacking (*) is not supported")
                return call_function(name, [self.number(arg, depth) for arg in args])
            case ast.Call():
                raise CalcError(
                    f"unsupported call {self._segment(node)}: call a listed function by name, as f(x, y)"
                )
        raise CalcError(
            f"unsupported syntax {self._segment(node)!r}: use numbers, + - * / // % ** (or ^), "
            "parentheses, comparisons and the listed functions"
        )

    def number(self, node: ast.expr, depth: int) -> Number:
        value = self.visit(node, depth + 1)
        if isinstance(value, bool):
            raise CalcError(f"a comparison ({self._segment(node)}) cannot be used as a number")
        return value

    def binary(self, op: ast.operator, left: Number, right: Number) -> Number:
        if isinstance(op, ast.Pow):
            return power(left, right)
        if isinstance(left, float) or isinstance(right, float):  # convert here, where overflow is caught
            left, right = to_float(left), to_float(right)
        if type(op) in _DIVISIONS:
            if right == 0:
                raise CalcError("division by zero")
            result = _DIVISIONS[type(op)](left, right)
        elif type(op) in _SIMPLE:
            result = _SIMPLE[type(op)](left, right)
        else:
            raise CalcError(f"unsupported operator {type(op).__name__}")
        if isinstance(result, int):  # Fraction // Fraction is an int
            return Fraction(result)
        if isinstance(result, Fraction):
            return check_size(result)
        return check_size(to_float(result))

    def compare(self, left: ast.expr, ops: list[ast.cmpop], comparators: list[ast.expr], depth: int) -> bool:
        current = self.number(left, depth)
        for op, right_node in zip(ops, comparators, strict=True):
            if type(op) not in _COMPARISONS:
                raise CalcError(f"unsupported comparison {type(op).__name__}")
            right = self.number(right_node, depth)
            if not _COMPARISONS[type(op)](current, right):
                return False
            current = right
        return True

    def _segment(self, node: ast.expr) -> str:
        return ast.get_source_segment(self.source, node) or type(node).__name__


def format_value(value: Value) -> str:
    """Integers and terminating decimals exactly; other fractions as ``p/q ≈ decimal``; floats as ``≈ x``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"≈ {value:.15g}"
    numerator, denominator = value.numerator, value.denominator
    if _digits(numerator) + _digits(denominator) > _MAX_SHOWN_DIGITS:
        return f"≈ {_approximate(value)} (the exact value has too many digits to show)"
    if denominator == 1:
        return str(numerator)
    decimal = _terminating_decimal(value)
    if decimal is not None:
        return decimal
    return f"{numerator}/{denominator} ≈ {_approximate(value)}"


def _digits(number: int) -> int:
    return math.floor(abs(number).bit_length() * math.log10(2)) + 1


def _terminating_decimal(value: Fraction) -> str | None:
    twos = fives = 0
    rest = value.denominator
    while rest % 2 == 0:
        rest //= 2
        twos += 1
    while rest % 5 == 0:
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
