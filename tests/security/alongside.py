"""An attack on a bundled server over stdio, with an innocent call sent while it runs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from tests.servers.helpers import call

__all__ = ["PROMPT", "attack_alongside"]

REPO = Path(__file__).resolve().parents[2]
PROMPT = 10  # seconds: generous; before the fixes the innocent call waited for minutes, or forever

Outcome = tuple[bool, str]


async def attack_alongside(
    server_args: list[str], tool: str, attack: dict[str, Any], innocent: dict[str, Any]
) -> tuple[Outcome, Outcome]:
    """Start ``python -m <server_args>``, send ``attack``, then ``innocent`` while it runs.

    Both must answer within :data:`PROMPT` seconds; returns their (is_error, text).
    """
    params = StdioServerParameters(command=sys.executable, args=["-m", *server_args], cwd=str(REPO))
    results: dict[str, Outcome] = {}
    with anyio.fail_after(60):  # start-up of a fresh interpreter on a loaded machine
        async with Client(params, mode="legacy") as client:
            await client.list_tools()

            async def send_attack() -> None:
                with anyio.fail_after(PROMPT):
                    results["attack"] = await call(client, tool, attack)

            async with anyio.create_task_group() as group:
                group.start_soon(send_attack)
                with anyio.fail_after(PROMPT):
                    results["innocent"] = await call(client, tool, innocent)
    return results["attack"], results["innocent"]
