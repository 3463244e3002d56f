"""The SDK's OAuth provider, built for one server entry, remembering tokens and speaking our errors.

Only :mod:`agent.mcp.oauth` imports this module (it imports the SDK's OAuth client).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncGenerator, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider, OAuthFlowError
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata
from pydantic import AnyUrl

from agent.config.servers import OAuthConfig
from agent.mcp.oauth import OAuthOptions
from agent.mcp.oauth_redirect import (
    AuthorizationFailed,
    AuthorizationPrompt,
    AuthorizationRequired,
    LoopbackCallback,
)
from agent.mcp.oauth_store import TokenFile, token_file_path
from agent.redaction import redact
from agent.text import one_line

__all__ = ["SignInProvider", "build_provider", "sign_in_failure"]

# The SDK logs a failed flow with its traceback; with no logging configured, Python's last-resort
# handler would print it. Records still reach the handlers an application configures.
logging.getLogger("mcp.client.auth").addHandler(logging.NullHandler())


async def build_provider(
    server_url: str, settings: OAuthConfig, options: OAuthOptions, store_dir: Path, *, server: str
) -> SignInProvider:
    """The provider for the server at ``server_url``, with tokens kept under ``store_dir``."""
    store = TokenFile(token_file_path(store_dir, server_url), server_url, _preregistered(settings))
    port = settings.callback_port or await _stored_port(store) or _free_port()
    callback = LoopbackCallback(port)
    stored = await store.get_client_info()
    if (
        stored is not None
        and stored.redirect_uris
        and callback.redirect_uri not in map(str, stored.redirect_uris)
    ):
        await store.forget()  # registered for another port: register again rather than fail later
    metadata = OAuthClientMetadata(
        client_name=options.client_name,
        redirect_uris=[AnyUrl(callback.redirect_uri)],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    sign_in = _SignIn(callback, options, server)
    secret = settings.client_secret.get_secret_value() if settings.client_secret else None
    return SignInProvider(
        server_url=server_url,
        client_metadata=metadata,
        storage=store,
        redirect_handler=sign_in.redirect,
        callback_handler=sign_in.callback,
        client_metadata_url=settings.client_metadata_url,
        secrets=(secret,),
    )


class _SignIn:
    """The SDK's redirect and callback handlers: show the URL, wait for the browser to come back."""

    def __init__(self, callback: LoopbackCallback, options: OAuthOptions, server: str) -> None:
        self._callback = callback
        self._options = options
        self._server = server
        self._url: str | None = None

    async def redirect(self, url: str) -> None:
        if self._options.on_authorize is None:
            raise AuthorizationRequired(url)
        self._url = url

    async def callback(self) -> AuthorizationCodeResult:
        show, waiting = self._options.on_authorize, self._options.on_waiting
        assert self._url is not None and show is not None  # redirect() came first
        prompt = AuthorizationPrompt(self._server, self._url, self._callback.redirect_uri)
        self._url = None
        if waiting is not None:
            waiting(True)
        try:
            return await self._callback.wait(prompt, show, self._options.sign_in_seconds)
        finally:
            if waiting is not None:
                waiting(False)


class SignInProvider(OAuthClientProvider):
    """The SDK's provider, with expiry known across restarts and failures in our words.

    Args:
        secrets: values that must never appear in a failure message.
        **kwargs: the SDK provider's own arguments.
    """

    def __init__(self, *, secrets: tuple[str | None, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._secrets = secrets
        self.failure: AuthorizationFailed | None = None

    async def _initialize(self) -> None:
        await super()._initialize()
        tokens = self.context.current_tokens
        if tokens is not None and tokens.expires_in is not None:
            self.context.update_token_expiry(tokens)  # stored tokens may have expired: refresh first

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """The SDK's flow; a failure is recorded in :attr:`failure` and told in our words."""
        flow = super().async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            self.failure = None
            return
        except AuthorizationFailed as exc:
            self.failure = exc
            raise
        except Exception as exc:
            tokens = self.context.current_tokens
            known = (*self._secrets, *((tokens.access_token, tokens.refresh_token) if tokens else ()))
            failure = sign_in_failure(exc, known)
            if failure is None:
                raise
            self.failure = failure
            raise failure from exc
        finally:
            await flow.aclose()


def sign_in_failure(exc: Exception, secrets: Iterable[str | None] = ()) -> AuthorizationFailed | None:
    """One line for what went wrong while signing in, without ``secrets``; ``None`` if not the sign-in's.

    The SDK's OAuth errors (and malformed metadata, a ``ValueError``) are the sign-in's; anything
    else (a connection error, say) is left as it is.
    """
    if not isinstance(exc, OAuthFlowError | ValueError):
        return None
    text = redact(str(exc) or type(exc).__name__, secrets)
    return AuthorizationFailed(one_line(f"authorization failed: {text}", 300))


def _preregistered(settings: OAuthConfig) -> OAuthClientInformationFull | None:
    """The client of the config's ``client_id``, if it names one."""
    if settings.client_id is None:
        return None
    secret = settings.client_secret.get_secret_value() if settings.client_secret else None
    method = settings.token_endpoint_auth_method or ("client_secret_basic" if secret else "none")
    return OAuthClientInformationFull(
        client_id=settings.client_id, client_secret=secret, token_endpoint_auth_method=method
    )


async def _stored_port(store: TokenFile) -> int | None:
    """The loopback port the stored registration was made with, if any."""
    client = await store.get_client_info()
    for uri in (client.redirect_uris or []) if client is not None else []:
        parts = urlsplit(str(uri))
        if parts.hostname == "127.0.0.1" and parts.port:
            return parts.port
    return None


def _free_port() -> int:
    """A loopback port nothing listens on now (it is bound again when a sign-in needs it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
