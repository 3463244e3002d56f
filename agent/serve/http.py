"""``agent serve --http HOST:PORT``: the MCP server over streamable HTTP, loopback unless allowed.

A loopback address (127.0.0.1, ::1, localhost) is served as it is, with the SDK's DNS-rebinding
protection (Host and Origin must be loopback too). Any other address needs ``--allow-remote``
and a bearer token: every request must then carry ``Authorization: Bearer TOKEN``, the token
being the value of an environment variable (:data:`TOKEN_ENV` by default), at least
:data:`MIN_TOKEN_CHARS` characters. A token set for a loopback server is required there too.
The token is never shown, logged or echoed.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MIN_TOKEN_CHARS", "TOKEN_ENV", "BearerAuth", "HttpAddress", "parse_address", "serve_http"]

TOKEN_ENV = "AGENT_SERVE_TOKEN"
"""The environment variable holding the bearer token, unless ``--token-env`` names another."""
MIN_TOKEN_CHARS = 16
_SOURCE = "--http"
_MCP_PATH = "/mcp"


@dataclass(frozen=True)
class HttpAddress:
    """Where to listen: a host (name or address) and a port (0: any free one)."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        """Whether only this machine can connect."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def url(self, port: int | None = None) -> str:
        """``http://HOST:PORT/mcp`` (IPv6 addresses in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port if port is None else port}{_MCP_PATH}"


def parse_address(text: str) -> HttpAddress:
    """``HOST:PORT``, ``[IPV6]:PORT`` or ``PORT`` (on 127.0.0.1).

    Raises:
        ConfigError: not an address and port.
    """
    text = text.strip()
    host, port_text = "127.0.0.1", text
    if text.startswith("["):
        inner, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ConfigError(f"expected [ADDRESS]:PORT, got {text!r}", source=_SOURCE)
        host, port_text = inner, rest[1:]
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"expected HOST:PORT (a port from 0 to 65535), got {text!r}", source=_SOURCE)
    return HttpAddress(host, int(port_text))


def server_token(
    address: HttpAddress, *, allow_remote: bool, env: Mapping[str, str], token_env: str = TOKEN_ENV
) -> str | None:
    """The bearer token requests must carry (None: none is required).

    Raises:
        ConfigError: a non-loopback address without ``--allow-remote``, or without a token (or
            with one too short) in ``token_env``.
    """
    token = env.get(token_env) or None
    if not address.loopback:
        if not allow_remote:
            raise ConfigError(
                f"{address.host} is not a loopback address: anyone who can reach it could run tasks "
                "with your API key; give --allow-remote (and a bearer token) to serve it anyway",
                source=_SOURCE,
            )
        if token is None:
            raise ConfigError(
                f"serving {address.host} needs a bearer token: set {token_env} to a secret of at least "
                f"{MIN_TOKEN_CHARS} characters (clients send it as 'Authorization: Bearer ...')",
                source="--allow-remote",
            )
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"the bearer token in {token_env} is too short: at least {MIN_TOKEN_CHARS} characters",
            source="--token-env",
        )
    return token


class BearerAuth:
    """ASGI middleware: HTTP requests without ``Authorization: Bearer <token>`` get 401."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on when it carries the token; answer 401 otherwise."""
        if scope["type"] == "http" and not self._authorized(scope):
            from starlette.responses import JSONResponse

            response = JSONResponse(
                {"error": "unauthorized", "error_description": "a valid bearer token is required"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="agent serve"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization":
                scheme, _, given = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self._token)
        return False


async def serve_http(
    server: MCPServer[Any],
    address: HttpAddress,
    *,
    token: str | None,
    on_listening: Callable[[str], None] | None = None,
) -> None:
    """Serve ``server`` at ``address`` until interrupted; ``on_listening`` hears the URL once bound.

    Raises:
        ConfigError: the address cannot be bound.
    """
    import uvicorn

    transport_security = None
    if not address.loopback:
        from mcp.server.transport_security import TransportSecuritySettings

        # A remote server is reached under names we cannot know; the bearer token guards it.
        transport_security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=_MCP_PATH,
        host=address.host,
        transport_security=transport_security,
    )
    if token is not None:
        app = BearerAuth(app, token)
    sock = _bind(address)
    try:
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=2
        )
        web = uvicorn.Server(config)
        with _stopping_on_sigterm(web):
            if on_listening is not None:
                on_listening(address.url(port))
            await web.serve(sockets=[sock])
    finally:
        sock.close()


@contextlib.contextmanager
def _stopping_on_sigterm(web: Any) -> Iterator[None]:
    """SIGTERM stops ``web`` and then returns normally, so the agent closes its servers and store.

    uvicorn stops on SIGTERM and, once stopped, raises the signal again for the handler it found
    in place: the default one would kill the process before the agent is closed. This one asks
    uvicorn to stop (also when the signal comes before uvicorn listens for it) and nothing more.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        web.should_exit = True

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _bind(address: HttpAddress) -> socket.socket:
    try:
        infos = socket.getaddrinfo(
            address.host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family = infos[0][0]
        return socket.create_server((address.host, address.port), family=family, reuse_port=False)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {address.host}:{address.port}: {exc.strerror or exc}", source=_SOURCE
        ) from None
