"""One manager shared by concurrent runs: one connection per server, calls multiplexed over it."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from agent.mcp.manager import McpManager
from agent.tools import ToolOutcome
from tests.fixtures.mcp_memory import MemoryLink, tool_server

pytestmark = pytest.mark.anyio


class Gate:
    """Holds calls inside the server until opened; ``all_inside`` is set once ``expected`` are in.

    With ``open_when_full`` the gate opens by itself at that moment.
    """

    def __init__(self, expected: int, *, open_when_full: bool = False) -> None:
        self.expected = expected
        self.open_when_full = open_when_full
        self.inside = 0
        self.all_inside = anyio.Event()
        self.opened = anyio.Event()

    async def enter(self) -> None:
        self.inside += 1
        if self.inside == self.expected:
            self.all_inside.set()
            if self.open_when_full:
                self.opened.set()
        await self.opened.wait()


def gated(name: str, gate: Gate) -> MemoryLink:
    async def work(arguments: dict[str, Any]) -> str:
        await gate.enter()
        return f"{name}:{arguments['n']}"

    async def echo(arguments: dict[str, Any]) -> str:
        return f"{name}:{arguments['n']}"

    async def crash(arguments: dict[str, Any]) -> str:
        link.cut()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    link = MemoryLink(tool_server(name, {"work": work, "echo": echo, "crash": crash}))
    return link


async def gather(manager: McpManager, calls: list[tuple[str, str, int]]) -> list[ToolOutcome]:
    results: list[ToolOutcome | None] = [None] * len(calls)

    async def one(i: int, server: str, tool: str, n: int) -> None:
        results[i] = await manager.call(server, tool, {"n": n})

    async with anyio.create_task_group() as tg:
        for i, (server, tool, n) in enumerate(calls):
            tg.start_soon(one, i, server, tool, n)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


async def test_twenty_concurrent_calls_across_two_servers_share_one_connection_each() -> None:
    # Every call waits inside its server until all ten calls to that server have arrived:
    # the calls can only finish if the one connection carries them at the same time.
    a, b = gated("a", Gate(10, open_when_full=True)), gated("b", Gate(10, open_when_full=True))
    calls = [("a" if i % 2 else "b", "work", i) for i in range(20)]
    with anyio.fail_after(5):
        async with McpManager({"a": a, "b": b}) as manager:
            results = await gather(manager, calls)
    assert results == [ToolOutcome(f"{server}:{n}") for server, _, n in calls]
    assert (a.opened, b.opened) == (1, 1)


async def test_a_restart_while_other_calls_are_in_flight_leaves_them_untouched() -> None:
    a_gate, b_gate = Gate(5), Gate(3)
    a, b = gated("a", a_gate), gated("b", b_gate)
    a_results: list[ToolOutcome] = []
    b_results: list[ToolOutcome] = []
    with anyio.fail_after(5):
        async with McpManager({"a": a, "b": b}) as manager:

            async def a_calls() -> None:
                a_results.extend(await gather(manager, [("a", "work", n) for n in range(5)]))

            async def b_calls() -> None:
                b_results.extend(await gather(manager, [("b", "work", n) for n in range(3)]))

            async with anyio.create_task_group() as tg:
                tg.start_soon(a_calls)
                tg.start_soon(b_calls)
                await a_gate.all_inside.wait()
                await b_gate.all_inside.wait()
                # b dies with four calls in flight; ten calls right after share one restart,
                # while a's five calls wait on their own connection throughout.
                assert (await manager.call("b", "crash", {})).is_error
                after = await gather(manager, [("b", "echo", n) for n in range(10)])
                assert after == [ToolOutcome(f"b:{n}") for n in range(10)]
                a_gate.opened.set()
    assert a_results == [ToolOutcome(f"a:{n}") for n in range(5)]
    closed = "Error calling tool 'work': the connection to MCP server 'b' closed during the call"
    assert b_results == [ToolOutcome(closed, is_error=True)] * 3
    assert (a.opened, b.opened) == (1, 2)
