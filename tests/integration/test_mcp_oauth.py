"""Signing in to an MCP server behind OAuth, through the real HTTP transports on 127.0.0.1.

The server and the "browser" are in :mod:`tests.integration.oauth_server`; the browser follows
the authorization URL to the runtime's loopback listener (or the user pastes where it ended).
"""

from __future__ import annotations

import json
import socket
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.auth import OAuthClientInformationFull

from agent.config.servers import HttpServerConfig, OAuthConfig
from agent.mcp.manager import McpManager
from agent.mcp.oauth import AuthorizationPrompt, OAuthOptions, use_oauth_options
from agent.mcp.oauth_store import token_file_path
from agent.tools import ToolOutcome
from tests.integration.oauth_server import Browser, MemoryAuthServer, serving

pytestmark = pytest.mark.anyio


async def never_shown(prompt: AuthorizationPrompt) -> None:
    raise AssertionError(f"a sign-in was not expected: {prompt.url}")


async def connect(
    config: HttpServerConfig,
    options: OAuthOptions,
    action: Callable[[McpManager], Awaitable[Any]] | None = None,
) -> McpManager:
    with use_oauth_options(options), anyio.fail_after(30):
        async with McpManager({"secure": config}) as manager:
            if action is not None:
                await action(manager)
    return manager


async def test_a_sign_in_is_stored_privately_and_reused_by_the_next_connection(tmp_path: Path) -> None:
    store = tmp_path / "oauth"  # made by the first sign-in
    auth = MemoryAuthServer()
    browser = Browser()
    called: list[ToolOutcome] = []

    async def call(manager: McpManager) -> None:
        called.append(await manager.call("secure", "whoami", {}))

    async with serving(auth) as base:
        config = HttpServerConfig(url=f"{base}/mcp", mode="legacy")
        waiting: list[bool] = []
        options = OAuthOptions(on_authorize=browser, store_dir=store, on_waiting=waiting.append)
        first = await connect(config, options, call)
        second = await connect(config, OAuthOptions(on_authorize=never_shown, store_dir=store), call)

    assert [first.failed, second.failed] == [[], []]
    assert called == [ToolOutcome("signed in"), ToolOutcome("signed in")]
    assert (auth.registrations, auth.authorizations, auth.refreshes) == (1, 1, 0)
    assert waiting == [True, False]
    [prompt] = browser.shown
    assert prompt.server == "secure"
    assert prompt.redirect_uri.startswith("http://127.0.0.1:") and prompt.redirect_uri.endswith("/callback")
    stored = token_file_path(store, f"{base}/mcp")
    assert _modes(stored) == (0o700, 0o600)
    data = json.loads(stored.read_text())
    assert data["tokens"]["access_token"] in auth.access
    assert data["server_url"] == f"{base}/mcp"


async def test_an_expired_access_token_is_refreshed_without_a_new_sign_in(tmp_path: Path) -> None:
    auth = MemoryAuthServer()
    async with serving(auth) as base:
        config = HttpServerConfig(url=f"{base}/mcp", mode="legacy")
        await connect(config, OAuthOptions(on_authorize=Browser(), store_dir=tmp_path))
        stored = token_file_path(tmp_path, f"{base}/mcp")
        data = json.loads(stored.read_text())
        first_token = data["tokens"]["access_token"]
        stored.write_text(json.dumps({**data, "expires_at": time.time() - 60}))
        manager = await connect(config, OAuthOptions(on_authorize=never_shown, store_dir=tmp_path))

    assert manager.failed == []
    assert (auth.authorizations, auth.refreshes) == (1, 1)
    assert json.loads(stored.read_text())["tokens"]["access_token"] not in ("", first_token)


async def test_time_the_user_takes_to_sign_in_does_not_count_against_the_start_up_timeout(
    tmp_path: Path,
) -> None:
    auth = MemoryAuthServer()

    async def slow_user(prompt: AuthorizationPrompt) -> None:
        await anyio.sleep(2.5)  # longer than the whole start-up timeout
        await Browser()(prompt)

    async with serving(auth) as base:
        config = HttpServerConfig(url=f"{base}/mcp", mode="legacy", startup_timeout=1.5)
        manager = await connect(config, OAuthOptions(on_authorize=slow_user, store_dir=tmp_path))
    assert manager.failed == []
    assert auth.authorizations == 1


async def test_a_pasted_redirect_completes_the_sign_in(tmp_path: Path) -> None:
    auth = MemoryAuthServer()
    browser = Browser(follow_back=False)
    async with serving(auth) as base:
        config = HttpServerConfig(url=f"{base}/mcp", mode="legacy")
        manager = await connect(config, OAuthOptions(on_authorize=browser, store_dir=tmp_path))
    assert manager.failed == []
    assert len(browser.shown) == 1


async def test_a_pre_registered_client_signs_in_with_its_secret_and_registers_nothing(tmp_path: Path) -> None:
    auth = MemoryAuthServer()
    async with serving(auth, registration=False) as base:
        port = _free_port()
        auth.clients["agent-test"] = OAuthClientInformationFull(
            client_id="agent-test",
            client_secret="pre-shared-secret",
            redirect_uris=[f"http://127.0.0.1:{port}/callback"],  # type: ignore[list-item]
            token_endpoint_auth_method="client_secret_basic",
        )
        oauth = OAuthConfig(client_id="agent-test", client_secret="pre-shared-secret", callback_port=port)  # type: ignore[arg-type]
        config = HttpServerConfig(url=f"{base}/mcp", mode="legacy", oauth=oauth)
        manager = await connect(config, OAuthOptions(on_authorize=Browser(), store_dir=tmp_path))
    assert manager.failed == []
    assert (auth.registrations, auth.authorizations) == (0, 1)
    stored = json.loads(token_file_path(tmp_path, f"{base}/mcp").read_text())
    assert "client" not in stored and "pre-shared-secret" not in json.dumps(stored)


async def test_a_server_over_sse_signs_in_the_same_way(tmp_path: Path) -> None:
    auth = MemoryAuthServer()
    async with serving(auth, sse=True) as base:
        config = HttpServerConfig(type="sse", url=f"{base}/sse", mode="legacy")
        manager = await connect(config, OAuthOptions(on_authorize=Browser(), store_dir=tmp_path))
    assert manager.failed == []
    assert auth.authorizations == 1


async def test_without_a_handler_the_server_fails_to_start_naming_the_url_to_open(tmp_path: Path) -> None:
    auth = MemoryAuthServer()
    async with serving(auth) as base:
        config = HttpServerConfig(url=f"{base}/mcp", mode="legacy")
        manager = await connect(config, OAuthOptions(store_dir=tmp_path))
    [failed] = manager.failed
    assert failed.error is not None
    message = str(failed.error)
    assert message.startswith(
        "MCP server 'secure': sign-in required, and no one to ask: sign in once at a terminal "
        f"(agent servers), or give the Agent an authorize= handler; the sign-in starts at {base}/authorize?"
    )
    assert "\n" not in message
    assert auth.authorizations == 0


async def test_a_refused_sign_in_is_one_line_saying_what_the_server_answered(tmp_path: Path) -> None:
    auth = MemoryAuthServer(refuse=True)
    async with serving(auth) as base:
        config = HttpServerConfig(url=f"{base}/mcp", mode="legacy")
        manager = await connect(config, OAuthOptions(on_authorize=Browser(), store_dir=tmp_path))
    [failed] = manager.failed
    assert str(failed.error) == (
        "MCP server 'secure': the authorization server refused: access_denied: the user said no"
    )


async def test_oauth_turned_off_leaves_the_server_unauthorised(tmp_path: Path) -> None:
    auth = MemoryAuthServer()
    async with serving(auth) as base:
        config = HttpServerConfig(url=f"{base}/mcp", mode="legacy", oauth=OAuthConfig(enabled=False))
        manager = await connect(config, OAuthOptions(on_authorize=never_shown, store_dir=tmp_path))
    [failed] = manager.failed
    assert str(failed.error) == "MCP server 'secure': start-up failed: Server returned an error response"
    assert _listing(tmp_path) == []


def _modes(stored: Path) -> tuple[int, int]:
    """The permission bits of the token file's directory and of the file."""
    return stat.S_IMODE(stored.parent.stat().st_mode), stat.S_IMODE(stored.stat().st_mode)


def _listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
