"""Signing in to an MCP server behind OAuth, through the real HTTP transports on 127.0.0.1.

The server is the SDK's ``MCPServer`` with its own authorization server routes, backed by an
in-memory authorization server that approves every request at once (no login page); the
"browser" follows the authorization URL to the runtime's loopback listener.
"""

from __future__ import annotations

import json
import secrets
import socket
import stat
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import pytest
import uvicorn
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    construct_redirect_uri,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions
from mcp.server.mcpserver import MCPServer
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from agent.config.servers import HttpServerConfig, OAuthConfig
from agent.mcp.manager import McpManager
from agent.mcp.oauth import AuthorizationPrompt, OAuthOptions, use_oauth_options
from agent.mcp.oauth_store import token_file_path
from agent.tools import ToolOutcome

pytestmark = pytest.mark.anyio


@dataclass
class MemoryAuthServer:
    """An authorization server that approves everything at once, and counts what it was asked."""

    refuse: bool = False
    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    authorizations: int = 0
    refreshes: int = 0
    registrations: int = 0

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        self.registrations += 1
        self.clients[client_info.client_id] = client_info

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if self.refuse:
            raise AuthorizeError("access_denied", "the user said no")
        self.authorizations += 1
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            code=code,
            scopes=params.scopes or [],
            expires_at=time.time() + 300,
            client_id=client.client_id,
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        return construct_redirect_uri(str(params.redirect_uri), code=code, state=params.state)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        return self.codes.get(authorization_code)

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        del self.codes[authorization_code.code]
        return self._issue(client.client_id, authorization_code.scopes, authorization_code.resource)

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        return self.refresh.get(refresh_token)

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        self.refreshes += 1
        del self.refresh[refresh_token.token]
        return self._issue(client.client_id, scopes or refresh_token.scopes, refresh_token.resource)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.access.get(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access.pop(token.token, None)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access[access] = AccessToken(token=access, client_id=client_id, scopes=scopes, resource=resource)
        self.refresh[refresh] = RefreshToken(
            token=refresh, client_id=client_id, scopes=scopes, resource=resource
        )
        return OAuthToken(access_token=access, expires_in=3600, refresh_token=refresh, scope=" ".join(scopes))


def protected_server(base: str, path: str, auth: MemoryAuthServer, *, registration: bool) -> MCPServer:
    server = MCPServer(
        "protected",
        auth_server_provider=auth,
        auth=AuthSettings(
            issuer_url=base,  # type: ignore[arg-type]
            resource_server_url=f"{base}{path}",  # type: ignore[arg-type]
            client_registration_options=ClientRegistrationOptions(enabled=registration),
            validate_token_resource=True,
        ),
    )

    @server.tool()
    def whoami() -> str:
        """Say who is calling."""
        return "signed in"

    return server


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@asynccontextmanager
async def serving(
    auth: MemoryAuthServer, *, sse: bool = False, registration: bool = True
) -> AsyncIterator[str]:
    """The protected server on a free 127.0.0.1 port (bound first: its URL is in its metadata)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = protected_server(base, "/sse" if sse else "/mcp", auth, registration=registration)
    app = server.sse_app() if sse else server.streamable_http_app()
    config = uvicorn.Config(app, log_config=None, log_level="warning", lifespan="on", ws="none")
    runner = _Uvicorn(config)
    thread = threading.Thread(target=runner.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        assert await anyio.to_thread.run_sync(runner.ready.wait, 10.0), "the server did not start"
        yield base
    finally:
        runner.should_exit = True
        await anyio.to_thread.run_sync(thread.join, 10.0)
        sock.close()


@dataclass
class Browser:
    """Opens authorization URLs like a user who approves at once; remembers what it was shown."""

    follow_back: bool = True
    shown: list[AuthorizationPrompt] = field(default_factory=list)

    async def __call__(self, prompt: AuthorizationPrompt) -> None:
        self.shown.append(prompt)
        async with httpx2.AsyncClient(follow_redirects=self.follow_back) as client:
            response = await client.get(prompt.url)
        if not self.follow_back:  # the user pastes where the browser was sent back to
            prompt.submit(response.headers["location"])


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
    assert prompt.server == f"{base}/mcp"
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
        "MCP server 'secure': start-up failed: AuthorizationRequired: sign-in required "
        f"(no authorization handler was given): open {base}/authorize?"
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
        "MCP server 'secure': start-up failed: AuthorizationFailed: "
        "the authorization server refused: access_denied: the user said no"
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
