"""The MCP manager against real server processes: what only the process boundary shows.

Spawning, stderr, the environment, a real crash, stopping processes, and our stdio transport.
Manager logic itself (routing, restarts, failures, timeouts) is tested in-process in
``tests/unit/test_mcp_manager.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

from agent.config.servers import StdioServerConfig
from agent.events import Event, Notice
from agent.mcp.manager import McpManager
from agent.tools import ToolOutcome

pytestmark = pytest.mark.anyio

TEST_SERVER = str(Path(__file__).parents[1] / "fixtures" / "mcp_test_server.py")


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def fixture_server(*args: str, **kwargs: object) -> StdioServerConfig:
    return StdioServerConfig(command=sys.executable, args=[TEST_SERVER, *args], **kwargs)  # type: ignore[arg-type]


async def test_a_server_that_fails_to_start_is_reported_with_its_stderr_and_left_out() -> None:
    with anyio.fail_after(30):
        async with McpManager({"bad": fixture_server("--fail-start"), "good": fixture_server()}) as manager:
            [failed] = manager.failed
            assert failed.name == "bad"
            assert failed.error is not None
            assert str(failed.error) == "MCP server 'bad': the server exited during start-up"
            assert "fatal: cannot open database /nonexistent.db" in failed.error.stderr_tail
            assert manager.active == ["good"]
            assert {t.server for t in manager.tools()} == {"good"}


async def test_a_missing_command_is_named_in_the_failure() -> None:
    config = StdioServerConfig(command="/nonexistent/mcp-server")
    async with McpManager({"ghost": config}) as manager:
        [failed] = manager.failed
        assert failed.error is not None
        assert failed.error.detail == "command not found: /nonexistent/mcp-server"


def processes_mentioning(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def test_a_server_that_hangs_at_start_up_is_stopped_after_its_timeout(tmp_path: Path) -> None:
    marker = str(tmp_path / "hanging-server")
    with anyio.fail_after(30):
        async with McpManager(
            {"slow": fixture_server("--hang-start", "--pid-file", marker, startup_timeout=0.5)}
        ) as manager:
            [failed] = manager.failed
            assert failed.error is not None
            assert failed.error.detail == "did not start within 0.5 s"
    assert processes_mentioning(marker) == []


async def test_a_server_crashing_mid_call_gives_an_error_result_and_is_restarted_once(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    events: list[Event] = []
    with anyio.fail_after(30):
        async with McpManager(
            {"t": fixture_server("--pid-file", str(pids))}, on_event=events.append
        ) as manager:
            outcome = await manager.call("t", "crash", {})
            assert outcome == ToolOutcome(
                "Error calling tool 'crash': the MCP server 't' exited during the call "
                "(its last words: crashing on purpose)",
                is_error=True,
            )
            assert {t.name for t in manager.tools()} >= {"echo", "crash"}
            assert await manager.call("t", "echo", {"message": "back"}) == ToolOutcome("back")
            assert len(pids.read_text().split()) == 2
            assert [e.message for e in events if isinstance(e, Notice)] == [
                "MCP server 't' stopped unexpectedly; restarting it"
            ]
            second = await manager.call("t", "crash", {})
            assert second.is_error
            assert manager.tools() == []
            again = await manager.call("t", "echo", {"message": "x"})
            assert again == ToolOutcome(
                "MCP server 't' stopped working and could not be restarted", is_error=True
            )
    assert len(pids.read_text().split()) == 2


async def test_a_timed_out_call_is_cancelled_on_the_server(tmp_path: Path) -> None:
    marker = tmp_path / "cancelled"
    async with McpManager({"t": fixture_server()}) as manager:
        with anyio.move_on_after(0.5):
            await manager.call("t", "sleep", {"seconds": 30, "marker": str(marker)})
        assert await manager.call("t", "echo", {"message": "still usable"}) == ToolOutcome("still usable")
    # The server handled the cancellation notification before it saw its stdin close.
    assert marker.read_text() == "cancelled"


async def test_servers_are_stopped_when_the_block_fails(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    with pytest.raises(RuntimeError, match="boom"):
        async with McpManager({"a": fixture_server("--pid-file", str(pids))}):
            raise RuntimeError("boom")
    [pid] = pids.read_text().split()
    assert not process_alive(int(pid))


async def test_servers_get_only_the_environment_their_entry_gives() -> None:
    config = fixture_server(env={"GREETING": "hi"})
    async with McpManager({"t": config}) as manager:
        assert (await manager.call("t", "env", {"name": "GREETING"})).text == "hi"
        assert (await manager.call("t", "env", {"name": "OPENROUTER_API_KEY"})).text == "<unset>"
