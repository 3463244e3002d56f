"""Exact arithmetic on expressions: an ``ast`` walker over a whitelist, never ``eval``.

Numbers are ``Fraction`` while the result is exact (so ``0.1 + 0.2`` is ``0.3``) and become
``float`` only when a function or power has no exact answer. Limits on input length, nesting,
literal size and result size, checked before each number is built, and a time budget keep a
hostile expression from burning CPU or memory.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from fractions import Fraction
from time import monotonic

from servers.calc_format import format_value
from servers.calc_functions import (
    CONSTANTS,
    FUNCTIONS,
    MAX_DIGITS,
    CalcError,
    Number,
    TooLarge,
    call_function,
    check_size,
    literal_digits,
    power,
    to_float,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "TIME_LIMIT",
    "CalcError",
    "Value",
    "calculate",
    "evaluate",
    "format_value",
]

Value = Number | bool

MAX_LENGTH = 1000
MAX_DEPTH = 60
TIME_LIMIT = 5.0  # seconds; every step is bounded, so this is a backstop, not the defence
_MAX_SUBJECT = 60
_DECIMAL_LITERAL = re.compile(r"(?P<mantissa>[0-9]*\.?[0-9]*)(?:[eE](?P<exponent>[+-]?[0-9]+))?")
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


def evaluate(expression: str, *, time_limit: float = TIME_LIMIT) -> Value:
    """Evaluate an arithmetic expression exactly where possible, within ``time_limit`` seconds.

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
    walker = _Walker(text, monotonic() + time_limit, time_limit)
    try:
        return walker.visit(tree.body, 0)
    except ZeroDivisionError as exc:  # a safety net: the functions check their own divisions
        raise CalcError("division by zero") from exc
    except OverflowError as exc:
        raise CalcError("the result is too large (floating-point overflow)") from exc


def calculate(expression: str, *, time_limit: float = TIME_LIMIT) -> str:
    """Evaluate and format in one step (what the calc tool returns)."""
    return format_value(evaluate(expression, time_limit=time_limit))


class _Walker:
    def __init__(self, source: str, deadline: float, time_limit: float) -> None:
        self.source = source
        self.deadline = deadline
        self.time_limit = time_limit

    def visit(self, node: ast.expr, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise CalcError(f"the expression is nested more than {MAX_DEPTH} levels deep")
        if monotonic() > self.deadline:
            raise CalcError(f"the calculation took longer than {self.time_limit:g} s and was stopped")
        try:
            return self._visit(node, depth)
        except TooLarge as exc:
            if exc.subject is not None:
                raise
            raise exc.about(self._subject(node)) from None

    def _visit(self, node: ast.expr, depth: int) -> Value:
        match node:
            case ast.Constant(value=bool()) | ast.Constant(value=str() | bytes() | None):
                raise CalcError(f"{self._segment(node)} is not a number")
            case ast.Constant(value=int() as integer):
                return Fraction(integer)
            case ast.Constant(value=float()):
                return self.decimal(node)
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

    def decimal(self, node: ast.expr) -> Fraction:
        """A decimal literal as an exact fraction, refused before building if it is too long."""
        text = self._segment(node).replace("_", "")
        match = _DECIMAL_LITERAL.fullmatch(text)
        if match is None:
            raise CalcError(f"unsupported number {text!r}")
        exponent = int(match["exponent"] or 0)
        size = literal_digits(match["mantissa"], exponent)
        if size > MAX_DIGITS:
            raise TooLarge(size)
        return Fraction(text)

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

    def _subject(self, node: ast.expr) -> str:
        text = " ".join(self._segment(node).split())
        return text if len(text) <= _MAX_SUBJECT else text[: _MAX_SUBJECT - 3] + "..."
