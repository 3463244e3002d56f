"""OAuth for HTTP MCP servers: the SDK's ``OAuthClientProvider``, set up from a server entry.

When a server answers 401 (or 403 ``insufficient_scope``), the provider discovers its
authorization server (protected resource metadata, then authorization server metadata, checking
the resource and the issuer), registers this client if needed (a client ID metadata document
when the entry names one and the server supports them, else dynamic registration; or the
entry's pre-registered client), and signs in with the authorization code flow and PKCE. The
user is shown the authorization URL through :attr:`OAuthOptions.on_authorize` (the library
never prints); the browser comes back to a loopback listener on 127.0.0.1, or the user pastes
the address it ended on (see :mod:`agent.mcp.oauth_redirect`). Tokens and the registration are
kept in the user config directory (see :mod:`agent.mcp.oauth_store`), so the next connection
reuses them, refreshing the access token when it has expired.

Failures become :class:`AuthorizationFailed` with a one-line message that holds no secret; the
connection reports it as the server's start-up failure.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.config.paths import user_config_dir
from agent.config.servers import HttpServerConfig
from agent.mcp.oauth_redirect import (
    AuthorizationFailed,
    AuthorizationHandler,
    AuthorizationPrompt,
    AuthorizationRequired,
)

if TYPE_CHECKING:
    import httpx2
    from mcp.client import Transport

__all__ = [
    "AuthorizationFailed",
    "AuthorizationHandler",
    "AuthorizationPrompt",
    "AuthorizationRequired",
    "OAuthOptions",
    "current_oauth_options",
    "oauth_provider",
    "reporting_auth_failures",
    "use_oauth_options",
]

DEFAULT_SIGN_IN_SECONDS = 300.0


@dataclass(frozen=True)
class OAuthOptions:
    """What the OAuth sign-in of HTTP servers may use, besides each server's own entry.

    Attributes:
        on_authorize: shows a pending sign-in to the user; without one, a server that needs a
            sign-in fails to start with :class:`AuthorizationRequired` naming the URL to open.
        store_dir: where tokens are kept; default ``<user config dir>/oauth``.
        sign_in_seconds: how long to wait for the browser (or a pasted address) to come back.
        client_name: the name this client registers under.
        on_waiting: told ``True`` when a sign-in starts waiting on the user and ``False`` when
            it ends, so that a start-up timeout can leave that time out (see
            ``McpConnection.wait_ready``).
    """

    on_authorize: AuthorizationHandler | None = None
    store_dir: Path | None = None
    sign_in_seconds: float = DEFAULT_SIGN_IN_SECONDS
    client_name: str = "agent"
    on_waiting: Callable[[bool], None] | None = None


_current: ContextVar[OAuthOptions | None] = ContextVar("agent_oauth_options", default=None)


@contextlib.contextmanager
def use_oauth_options(options: OAuthOptions) -> Iterator[None]:
    """Use ``options`` for the HTTP servers connected in this context (and the tasks it starts)."""
    token = _current.set(options)
    try:
        yield
    finally:
        _current.reset(token)


def current_oauth_options() -> OAuthOptions:
    """The options set by :func:`use_oauth_options` around this task, else the defaults."""
    return _current.get() or OAuthOptions()


async def oauth_provider(
    config: HttpServerConfig, options: OAuthOptions | None = None, *, server: str | None = None
) -> httpx2.Auth | None:
    """The ``httpx2.Auth`` that signs in to the server of ``config``; ``None`` when OAuth is off.

    Args:
        config: the server entry (its ``oauth`` settings, URL and headers).
        options: the sign-in handler and token location; default :func:`current_oauth_options`.
        server: the server's configured name, for the prompt shown to the user.
    """
    settings = config.oauth_settings
    if settings is None:
        return None
    from agent.mcp.oauth_provider import build_provider

    options = options or current_oauth_options()
    store_dir = options.store_dir or user_config_dir(os.environ) / "oauth"
    return await build_provider(config.url, settings, options, store_dir, server=server or config.url)


@contextlib.asynccontextmanager
async def reporting_auth_failures(transport: Transport, auth: httpx2.Auth) -> AsyncIterator[Any]:
    """``transport``, re-raising the sign-in failure of ``auth`` in place of what it caused.

    The SDK's HTTP transports turn an exception in a request (where the sign-in runs) into a
    closed connection; this puts the reason back.
    """
    try:
        async with transport as streams:
            yield streams
    except Exception as exc:
        failure = getattr(auth, "failure", None)
        if isinstance(failure, AuthorizationFailed):
            raise failure from exc
        raise
