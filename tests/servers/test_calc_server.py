from __future__ import annotations

import pytest
from mcp import Client
from mcp.types import ToolAnnotations

from servers.calc import build_server
from tests.servers.helpers import call

pytestmark = pytest.mark.anyio


async def test_calc_offers_one_read_only_evaluate_tool_with_a_described_expression() -> None:
    async with Client(build_server()) as client:
        (tool,) = (await client.list_tools()).tools
    assert (
        tool.name,
        tool.annotations,
        tool.input_schema["required"],
        (tool.description or "").splitlines()[0],
    ) == (
        "evaluate",
        ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
        ["expression"],
        "Evaluate an arithmetic expression exactly.",
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0.1 + 0.2", (False, "0.3")),
        ("(1.5 + 2) * 3^2 / 7", (False, "4.5")),
        ("1 / 3", (False, "1/3 ≈ 0.333333333333333")),
        ("sqrt(2)", (False, "≈ 1.4142135623731")),
        ("1 / 0", (True, "Error executing tool evaluate: cannot evaluate '1 / 0': division by zero")),
        (
            "__import__('os').system('true')",
            (
                True,
                "Error executing tool evaluate: cannot evaluate \"__import__('os').system('true')\": "
                "unsupported call __import__('os').system('true'): "
                "call a listed function by name, as f(x, y)",
            ),
        ),
        (
            "9" * 100 + " ** 9" * 40,
            (
                True,
                "Error executing tool evaluate: cannot evaluate '"
                + "9" * 77
                + "...': result too large: 9 ** 9 ** 9 would have about 369,693,100 digits (limit 10,000)",
            ),
        ),
        (
            "2**2**2**2**2**2",
            (
                True,
                "Error executing tool evaluate: cannot evaluate '2**2**2**2**2**2': "
                "result too large: 2**2**2**2**2 would have about 19,729 digits (limit 10,000)",
            ),
        ),
        ("log(2, 1.00000000000000000001)", (False, "≈ 6.93147180559945e+19")),
    ],
)
async def test_evaluate_returns_exact_results_and_clear_errors(
    expression: str, expected: tuple[bool, str]
) -> None:
    async with Client(build_server()) as client:
        result = await call(client, "evaluate", {"expression": expression})
    assert result == expected


async def test_an_unexpected_failure_is_a_one_line_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(expression: str) -> str:
        raise RuntimeError("the evaluator broke\nsecond line")

    monkeypatch.setattr("servers.evaluator.calculate", broken)
    async with Client(build_server()) as client:
        result = await call(client, "evaluate", {"expression": "1 + 1"})
    assert result == (
        True,
        "Error executing tool evaluate: cannot evaluate '1 + 1': "
        "unexpected error (RuntimeError: the evaluator broke)",
    )
