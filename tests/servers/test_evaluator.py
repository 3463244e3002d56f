from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from servers.evaluator import MAX_LENGTH, CalcError, calculate, evaluate, format_value

EXACT_RESULTS = [
    ("0.1 + 0.2", "0.3"),
    ("1 + 2 * 3", "7"),
    ("(1 + 2) * 3", "9"),
    ("10 / 4", "2.5"),
    ("1 / 3", "1/3 ≈ 0.333333333333333"),
    ("-1 / 3", "-1/3 ≈ -0.333333333333333"),
    ("2 / 3", "2/3 ≈ 0.666666666666667"),
    ("7 // 2", "3"),
    ("-7 // 2", "-4"),
    ("-7 % 3", "2"),
    ("7.5 % 2", "1.5"),
    ("2 ** 10", "1024"),
    ("2 ^ 10", "1024"),
    ("2 ** -2", "0.25"),
    ("2 ** -100", "1/1267650600228229401496703205376 ≈ 7.88860905221012e-31"),
    ("-2 ** 2", "-4"),
    ("(-2) ** 3", "-8"),
    ("--3", "3"),
    ("+4", "4"),
    ("1e-3 * 3", "0.003"),
    ("1_000.5 + 1", "1001.5"),
    ("0.1 * 3 == 0.3", "true"),
    ("1 < 2 < 3", "true"),
    ("3 > 2 > 2", "false"),
    ("1 != 1.0", "false"),
    ("3 × 4 ÷ 6 − 1", "1"),  # noqa: RUF001 - the calculator accepts these symbols
    ("sqrt(16)", "4"),
    ("sqrt(9/4)", "1.5"),
    ("4 ** 0.5", "2"),
    ("8 ** (2/3)", "4"),
    ("(-8) ** (1/3)", "-2"),
    ("abs(-3/7)", "3/7 ≈ 0.428571428571429"),
    ("round(2.5)", "3"),
    ("round(-2.5)", "-3"),
    ("round(3.14159, 2)", "3.14"),
    ("round(1234, -2)", "1200"),
    ("floor(-2.5)", "-3"),
    ("ceil(2.1)", "3"),
    ("min(3, 1.5, 2)", "1.5"),
    ("max(3, 1.5, 2)", "3"),
    ("max(0)", "0"),
    ("min(2.5)", "2.5"),
    ("log(1000)", "3"),
    ("log(8, 2)", "3"),
    ("log(0.01)", "-2"),
    ("ln(1)", "0"),
    ("exp(0)", "1"),
    ("factorial(20)", "2432902008176640000"),
    ("gcd(12, 18, 27)", "3"),
    ("lcm(4, 6, 10)", "60"),
    ("100000000000000000000 / 7", "100000000000000000000/7 ≈ 1.42857142857143e+19"),
    ("10 ** 5000", "≈ 1e+5000 (the exact value has too many digits to show)"),
    ("10 ** 9999 > 10 ** 9998", "true"),
    ("factorial(3248) > 0", "true"),
    ("1e9999 / 1e9998", "10"),
    ("log(2, 1.00000000000000000001)", "≈ 6.93147180559945e+19"),
]

APPROXIMATE_RESULTS = [
    ("sqrt(2)", "≈ 1.4142135623731"),
    ("2 ** 0.5", "≈ 1.4142135623731"),
    ("(-2) ** (2/3)", "≈ 1.5874010519682"),
    ("(-2) ** (1/3)", "≈ -1.25992104989487"),
    ("pi", "≈ 3.14159265358979"),
    ("tau / 2 == pi", "true"),
    ("e", "≈ 2.71828182845905"),
    ("exp(1)", "≈ 2.71828182845905"),
    ("ln(e)", "≈ 1"),
    ("log(10, 3)", "≈ 2.09590327428938"),
    ("ln(10**-400)", "≈ -921.034037197618"),
    ("cos(0)", "≈ 1"),
    ("sin(pi / 2)", "≈ 1"),
    ("tan(pi / 4)", "≈ 1"),
    ("sqrt(2) * sqrt(2)", "≈ 2"),
]

ERRORS = [
    ("", "the expression is empty"),
    ("1 / 0", "division by zero"),
    ("5 // 0", "division by zero"),
    ("5 % 0.0", "division by zero"),
    ("0 ** -1", "division by zero (0 raised to a negative power)"),
    ("1 +", "syntax error (the expression looks incomplete): invalid syntax"),
    ("(1", "syntax error at column 1: '(' was never closed"),
    ("foo", "unknown name 'foo'; constants: e, pi, tau"),
    ("sqrt", "unknown name 'sqrt' (it is a function: call it with parentheses); constants: e, pi, tau"),
    (
        "open('x')",
        "unknown function 'open'; available: abs, ceil, cos, exp, factorial, floor, gcd, lcm, ln, log, "
        "max, min, round, sin, sqrt, tan",
    ),
    (
        "__import__('os')",
        "unknown function '__import__'; available: abs, ceil, cos, exp, factorial, "
        "floor, gcd, lcm, ln, log, max, min, round, sin, sqrt, tan",
    ),
    (
        "(1).__class__",
        "unsupported syntax '(1).__class__': use numbers, + - * / // % ** (or ^), parentheses, "
        "comparisons and the listed functions",
    ),
    (
        "[1, 2]",
        "unsupported syntax '[1, 2]': use numbers, + - * / // % ** (or ^), parentheses, "
        "comparisons and the listed functions",
    ),
    (
        "lambda: 1",
        "unsupported syntax 'lambda: 1': use numbers, + - * / // % ** (or ^), parentheses, "
        "comparisons and the listed functions",
    ),
    ("round(x=1)", "unsupported call round(x=1): call a listed function by name, as f(x, y)"),
    ("max(*[1])", "argument unpacking (*) is not supported"),
    ("'a' + 1", "'a' is not a number"),
    ("True + 1", "True is not a number"),
    ("(1 < 2) + 1", "a comparison (1 < 2) cannot be used as a number"),
    ("1j", "1j: complex numbers are not supported"),
    ("1 & 2", "unsupported operator BitAnd"),
    ("1 in 2", "unsupported comparison In"),
    ("sqrt(-1)", "sqrt of a negative number has no real result"),
    ("(-1) ** 0.5", "a negative number to a fractional power has no real result"),
    ("log(0)", "log is only defined for positive numbers, got 0"),
    ("log(8, 1)", "log base 1 is undefined"),
    ("ln(-1)", "ln is only defined for positive numbers, got -1"),
    ("factorial(2.5)", "factorial needs whole numbers, got 5/2"),
    ("factorial(-1)", "factorial is only defined for whole numbers >= 0"),
    ("gcd(1.5, 3)", "gcd needs whole numbers, got 3/2"),
    ("sqrt(1, 2)", "sqrt takes 1 argument(s), got 2"),
    ("round(1, 2, 3)", "round takes 1 to 2 argument(s), got 3"),
    ("max()", "max takes at least 1 argument(s), got 0"),
]

ABUSE = [
    ("2 ** 1000000", "result too large: 2 ** 1000000 would have about 301,030 digits (limit 10,000)"),
    ("9 ** 99999", "result too large: 9 ** 99999 would have about 95,424 digits (limit 10,000)"),
    ("2 ** 100000", "result too large: 2 ** 100000 would have about 30,103 digits (limit 10,000)"),
    (
        "(10 ** 6000) * (10 ** 6000)",
        "result too large: (10 ** 6000) * (10 ** 6000) would have about 12,001 digits (limit 10,000)",
    ),
    ("10 ** 10000", "result too large: 10 ** 10000 would have about 10,001 digits (limit 10,000)"),
    ("10**10**10", "result too large: 10**10**10 would have about 10,000,000,001 digits (limit 10,000)"),
    ("9**9**9", "result too large: 9**9**9 would have about 369,693,100 digits (limit 10,000)"),
    ("2**2**2**2**2**2", "result too large: 2**2**2**2**2 would have about 19,729 digits (limit 10,000)"),
    ("1 + 9**9**9 * 2", "result too large: 9**9**9 would have about 369,693,100 digits (limit 10,000)"),
    ("1e9999999", "result too large: 1e9999999 would have about 10,000,000 digits (limit 10,000)"),
    ("1.5e-9999999", "result too large: 1.5e-9999999 would have about 10,000,002 digits (limit 10,000)"),
    ("factorial(5000)", "result too large: factorial(5000) would have about 16,326 digits (limit 10,000)"),
    (
        "factorial(10**100)",
        "result too large: factorial(10**100) would have about 10**101 digits (limit 10,000)",
    ),
    (
        "lcm(2**33000 - 1, 3**20000 - 1)",
        "result too large: lcm(2**33000 - 1, 3**20000 - 1) would have about 19,448 digits (limit 10,000)",
    ),
    ("factorial(10**5000 / 3)", "factorial needs whole numbers, got ≈ 3.33333333333333e+4999"),
    ("log(-10**100)", "log is only defined for positive numbers, got ≈ -1e+100"),
    ("log(2, 1 + 10**-400)", "log base ≈ 1 is too close to 1 for a floating-point result"),
    ("exp(1000)", "the result is too large (floating-point overflow)"),
    ("exp(700) * exp(700)", "the result is too large (floating-point overflow)"),
    ("1e400 * sqrt(2)", "a number is too large for an approximate (floating-point) calculation"),
    ("(-2) ** (10**5000 / 3)", "a number is too large for an approximate (floating-point) calculation"),
    ("-" * 200 + "1", "the expression is nested more than 60 levels deep"),
    ("abs(" * 70 + "1" + ")" * 70, "the expression is nested more than 60 levels deep"),
    ("(" * 300 + "1" + ")" * 300, "syntax error at column 201: too many nested parentheses"),
    ("1+" * 600 + "1", f"the expression is 1201 characters long; the limit is {MAX_LENGTH}"),
    ("round(1, 5000)", "round can keep at most 1000 decimal places"),
]


@pytest.mark.parametrize(("expression", "expected"), EXACT_RESULTS + APPROXIMATE_RESULTS)
def test_expression_evaluates_to_its_formatted_result(expression: str, expected: str) -> None:
    assert calculate(expression) == expected


@pytest.mark.parametrize(("expression", "message"), ERRORS + ABUSE)
def test_bad_or_abusive_expression_raises_one_clear_calc_error(expression: str, message: str) -> None:
    with pytest.raises(CalcError) as caught:
        evaluate(expression)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("0.1 + 0.2", Fraction(3, 10)),
        ("1 / 3 * 3", Fraction(1)),
        ("sqrt(2)", 2**0.5),
        ("2 < 3", True),
    ],
)
def test_results_stay_exact_fractions_until_an_irrational_step(expression: str, value: object) -> None:
    result = evaluate(expression)
    assert (type(result), result) == (type(value), value)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(42), "42"),
        (Fraction(-5, 4), "-1.25"),
        (Fraction(1, 8), "0.125"),
        (Fraction(1, 2**60), "1/1152921504606846976 ≈ 8.67361737988404e-19"),
        (Fraction(22, 7), "22/7 ≈ 3.14285714285714"),
        (0.1, "≈ 0.1"),
        (False, "false"),
    ],
)
def test_format_value_shows_exact_values_exactly_and_marks_approximations(value: Fraction, text: str) -> None:
    assert format_value(value) == text


def test_an_expression_that_outlasts_its_time_budget_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    ticks = itertools.count()  # a clock that advances one second per look
    monkeypatch.setattr("servers.evaluator.monotonic", lambda: float(next(ticks)))
    with pytest.raises(CalcError) as caught:
        evaluate("1 + 2 + 3 + 4 + 5 + 6", time_limit=3)
    assert str(caught.value) == "the calculation took longer than 3 s and was stopped"
