"""An OAuth-protected MCP server on 127.0.0.1 for tests, and a "browser" that approves at once.

The server is the SDK's ``MCPServer`` with its own authorization server routes, backed by an
in-memory authorization server that approves every request at once (no login page).
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import anyio.to_thread
import httpx2
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

from agent.mcp.oauth import AuthorizationPrompt

__all__ = ["Browser", "MemoryAuthServer", "protected_server", "serving"]


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
