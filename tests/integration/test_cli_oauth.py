"""Signing in to an OAuth-protected HTTP MCP server from the real CLI.

At a terminal (stdin and stderr on a pseudo-terminal) ``agent servers`` shows the URL to open and
takes the address the browser ended on, pasted: the browser-less flow. The tokens it stores are
used by later runs that have no terminal; without them such a run says in one line that a sign-in
is needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import pytest

from tests.integration.cli_helpers import TEST_KEY, agent_env, at_a_terminal, run_agent_cli
from tests.integration.oauth_server import MemoryAuthServer, serving

pytestmark = pytest.mark.anyio

_URL_LINE = re.compile(rb"Open:\r?\n\s+(\S+)\r?\n")


def write_config(tmp_path: Path, base: str) -> Path:
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"secure": {"type": "http", "url": f"{base}/mcp"}}}))
    return config


def sign_in_at_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run ``agent ARGS`` with stdin and stderr on a pseudo-terminal, and sign in like a user
    whose browser is on another machine: open the URL shown, paste the address it ended on.

    Returns the exit code, what the terminal showed, and stdout.
    """
    pasted = False

    def user(seen: bytes) -> bytes | None:
        nonlocal pasted
        found = _URL_LINE.search(seen)
        if pasted or not found or b"Address (or wait): " not in seen:
            return None
        # The "browser": the authorization server approves at once and sends it back to the
        # loopback redirect URI, which is not followed (another machine's browser).
        sent_back = httpx.get(found.group(1).decode(), follow_redirects=False)
        pasted = True
        return sent_back.headers["location"].encode() + b"\n"

    return at_a_terminal(args, env, cwd, user)


async def test_agent_servers_at_a_terminal_signs_in_by_a_pasted_address_and_later_runs_reuse_it(
    tmp_path: Path,
) -> None:
    auth = MemoryAuthServer()
    env = agent_env(None, tmp_path)
    args = ["servers", "--mcp-config", "mcp.json", "-s", "secure"]
    async with serving(auth) as base:
        write_config(tmp_path, base)
        code, screen, out = await anyio.to_thread.run_sync(sign_in_at_a_terminal, args, env, tmp_path)
        later = await anyio.to_thread.run_sync(
            lambda: run_agent_cli(*args, "--json", env=env, cwd=tmp_path, process=True)
        )

    assert code == 0, screen
    assert "MCP server 'secure' needs you to sign in. Open:" in screen
    assert f"  {base}/authorize?" in screen
    assert "paste the address it ended on" in screen
    assert re.search(r"secure\s+active\s+streamable-http", out), out
    assert (auth.registrations, auth.authorizations, auth.refreshes) == (1, 1, 0)
    # The next run, with no terminal, uses the stored tokens: no second sign-in.
    assert later.code == 0, later.stderr
    [entry] = json.loads(later.stdout)
    assert (entry["name"], entry["status"], entry["tools"]) == ("secure", "active", 1)
    assert auth.authorizations == 1
    stored = tmp_path / "agent-config" / "oauth"
    assert [path.stat().st_mode & 0o777 for path in stored.iterdir()] == [0o600]
    for text in (screen, out, later.stdout, later.stderr):
        assert TEST_KEY not in text
        for token in auth.access:
            assert token not in text


async def test_without_a_terminal_a_server_that_needs_a_sign_in_fails_in_one_line(tmp_path: Path) -> None:
    auth = MemoryAuthServer()
    env = agent_env(None, tmp_path)
    async with serving(auth) as base:
        write_config(tmp_path, base)
        done = await anyio.to_thread.run_sync(
            lambda: run_agent_cli(
                "servers", "--mcp-config", "mcp.json", "-s", "secure", "--json", env=env, cwd=tmp_path
            )
        )
    assert done.code == 0, done.stderr
    [entry] = json.loads(done.stdout)
    assert entry["status"] == "failed"
    assert entry["error"].startswith(
        "sign-in required, and no one to ask: sign in once at a terminal (agent servers), "
        f"or give the Agent an authorize= handler; the sign-in starts at {base}/authorize?"
    )
    assert auth.authorizations == 0
