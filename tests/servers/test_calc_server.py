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
                + "...': the exponent 387420489 is too large: the result would exceed 100000 bits",
            ),
        ),
    ],
)
async def test_evaluate_returns_exact_results_and_clear_errors(
    expression: str, expected: tuple[bool, str]
) -> None:
    async with Client(build_server()) as client:
        result = await call(client, "evaluate", {"expression": expression})
    assert result == expected
