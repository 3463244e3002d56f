"""Attacks on the calc server, replayed over stdio against the real server process.

Each hostile expression once froze the server (``1e9999999`` took 38 s to build and hours to
format, and ``1 + 1`` behind it got no answer) or leaked a bare "Error executing tool". Now each
is refused in one line, and an innocent call made at the same time answers promptly.
"""

from __future__ import annotations

import pytest

from tests.security.alongside import attack_alongside

pytestmark = pytest.mark.anyio

PREFIX = "Error executing tool evaluate: cannot evaluate "


async def _attack_alongside_an_innocent_call(expression: str) -> tuple[tuple[bool, str], tuple[bool, str]]:
    """Send the attack, then ``1 + 1`` while it runs; both must answer within ``PROMPT`` seconds."""
    return await attack_alongside(
        ["servers.calc"], "evaluate", {"expression": expression}, {"expression": "1 + 1"}
    )


@pytest.mark.parametrize(
    ("expression", "answer"),
    [
        (
            "1e9999999",
            "'1e9999999': result too large: 1e9999999 would have about 10,000,000 digits (limit 10,000)",
        ),
        (
            "10**10**10",
            "'10**10**10': result too large: 10**10**10 would have about 10,000,000,001 digits "
            "(limit 10,000)",
        ),
        (
            "9**9**9",
            "'9**9**9': result too large: 9**9**9 would have about 369,693,100 digits (limit 10,000)",
        ),
        (
            "factorial(10**100)",
            "'factorial(10**100)': result too large: factorial(10**100) would have about 10**101 digits "
            "(limit 10,000)",
        ),
        (
            "2**2**2**2**2**2",
            "'2**2**2**2**2**2': result too large: 2**2**2**2**2 would have about 19,729 digits "
            "(limit 10,000)",
        ),
        (
            "log(2, 1 + 10**-400)",
            "'log(2, 1 + 10**-400)': log base ≈ 1 is too close to 1 for a floating-point result",
        ),
    ],
)
async def test_a_huge_or_degenerate_expression_is_refused_in_one_line_while_1_plus_1_answers(
    expression: str, answer: str
) -> None:
    attack, innocent = await _attack_alongside_an_innocent_call(expression)
    assert (attack, innocent) == ((True, PREFIX + answer), (False, "2"))


async def test_a_log_base_a_hair_above_1_gets_its_answer_instead_of_a_bare_error() -> None:
    attack, innocent = await _attack_alongside_an_innocent_call("log(2, 1.00000000000000000001)")
    assert (attack, innocent) == ((False, "≈ 6.93147180559945e+19"), (False, "2"))
