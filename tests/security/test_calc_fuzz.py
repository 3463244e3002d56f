"""Random expressions against the evaluator: every one answers or fails with one ``CalcError`` line.

The grammar leans on the shapes that broke the calculator before (huge literals, towers of
powers, factorials, logs of numbers near 1), so a new unguarded path shows up as a crash here.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servers.calc_functions import CONSTANTS, FUNCTIONS
from servers.evaluator import CalcError, calculate

_OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "^", "<", "=="]
_NUMBERS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,8})?", fullmatch=True),
    st.sampled_from(["1e9999999", "1.00000000000000000001", "10**-400", "1e308", "0", "1", "-1", "9"]),
    st.sampled_from(sorted(CONSTANTS)),
)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(_OPERATORS), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), st.lists(children, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        children.map(lambda child: f"-{child}"),
    )


EXPRESSIONS = st.recursive(_NUMBERS, _extend, max_leaves=12)


@given(EXPRESSIONS)
def test_any_expression_answers_or_fails_with_a_one_line_calc_error(expression: str) -> None:
    try:
        answer = calculate(expression)
    except CalcError as exc:
        message = str(exc)
        assert message
        assert "\n" not in message
    else:
        assert answer
        assert "\n" not in answer


@pytest.mark.parametrize(
    "expression",
    [
        "factorial(3248) ** 2",
        "lcm(" + ", ".join(f"{p}**900 + 1" for p in range(2, 40)) + ")",
        "round(" * 20 + "10**9999" + ", 1000)" * 20,
        "sqrt(10**9999 / 7**11000)",
    ],
)
def test_expressions_at_the_size_limits_answer_or_refuse_in_one_line(expression: str) -> None:
    try:
        answer = calculate(expression)
    except CalcError as exc:
        assert "\n" not in str(exc)
    else:
        assert "\n" not in answer
