"""The way back from the browser: the sign-in redirect, caught on 127.0.0.1 or pasted by the user.

The authorization server sends the browser to ``http://127.0.0.1:<port>/callback?code=..&state=..``.
A :class:`LoopbackCallback` listens there while a sign-in is pending (loopback only, one small
request at a time); when the browser runs on another machine, the user pastes the address it
ended on into whatever shows the :class:`AuthorizationPrompt`, which hands it to
:meth:`AuthorizationPrompt.submit`. Whichever arrives first completes the sign-in.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import anyio
from anyio.abc import SocketStream

from agent.text import one_line

if TYPE_CHECKING:
    from mcp.shared.auth import AuthorizationCodeResult

__all__ = [
    "CALLBACK_PATH",
    "AuthorizationFailed",
    "AuthorizationHandler",
    "AuthorizationPrompt",
    "AuthorizationRequired",
    "LoopbackCallback",
    "parse_redirect",
]

CALLBACK_PATH = "/callback"
_URL = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HEAD_LIMIT = 16 * 1024
_REQUEST_SECONDS = 10.0


class AuthorizationFailed(Exception):
    """Signing in to an MCP server failed; the message is one line and holds no secret."""


class AuthorizationRequired(AuthorizationFailed):
    """The server needs a sign-in, and nothing was given to show the user where.

    Args:
        url: the authorization URL to open.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            "sign-in required, and no one to ask: sign in once at a terminal (agent servers), "
            f"or give the Agent an authorize= handler; the sign-in starts at {url}"
        )


@dataclass
class AuthorizationPrompt:
    """A pending sign-in, as shown to the user: open :attr:`url`, then come back.

    Attributes:
        server: the server's configured name (its URL when the name is not known).
        url: the authorization URL to open in a browser.
        redirect_uri: where the browser is sent back to (the loopback listener).
    """

    server: str
    url: str
    redirect_uri: str
    _done: anyio.Event = field(default_factory=anyio.Event, repr=False)
    _result: AuthorizationCodeResult | AuthorizationFailed | None = field(default=None, repr=False)

    def submit(self, redirect_url: str) -> None:
        """Complete the sign-in with the address the browser ended on (pasted by the user).

        Call it from the event loop's thread. A full URL, or just its ``?code=..&state=..``
        part, will do; an error the authorization server sent back fails the sign-in.

        Raises:
            ValueError: the text is not an authorization redirect (ask for it again).
        """
        try:
            self._finish(parse_redirect(redirect_url))
        except AuthorizationFailed as exc:
            self._finish(exc)

    @property
    def done(self) -> bool:
        """True once the redirect came back (or was pasted)."""
        return self._done.is_set()

    def _finish(self, result: AuthorizationCodeResult | AuthorizationFailed) -> None:
        if not self._done.is_set():
            self._result = result
            self._done.set()

    def _outcome(self) -> AuthorizationCodeResult:
        """The redirect that came back; raises the failure that came back instead."""
        result = self._result
        if isinstance(result, AuthorizationFailed):
            raise result
        assert result is not None
        return result


AuthorizationHandler = Callable[[AuthorizationPrompt], Awaitable[None]]
"""Shows a pending sign-in to the user (and may open a browser, or collect a pasted address).

It runs while the loopback listener waits: it may return at once, or keep running (reading a
pasted address, say) until the sign-in completes, when it is cancelled.
"""


def parse_redirect(text: str) -> AuthorizationCodeResult:
    """The code, state and issuer of an authorization redirect (a URL, or its query alone).

    Raises:
        AuthorizationFailed: the authorization server sent back an error instead of a code.
        ValueError: ``text`` holds neither a code nor an error.
    """
    from mcp.shared.auth import AuthorizationCodeResult

    text = text.strip()
    query = urlsplit(text).query if _URL.match(text) else text.lstrip("?")
    params = {name: values[0] for name, values in parse_qs(query).items() if values}
    if "error" in params:
        described = params.get("error_description")
        words = f"{params['error']}: {described}" if described else params["error"]
        raise AuthorizationFailed(one_line(f"the authorization server refused: {words}", 300))
    if not params.get("code"):
        raise ValueError("not an authorization redirect: expected an address with code= and state=")
    return AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))


class LoopbackCallback:
    """A listener on ``127.0.0.1:port`` that takes the browser's redirect back.

    Args:
        port: the port of the registered redirect URI.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.redirect_uri = f"http://127.0.0.1:{port}{CALLBACK_PATH}"

    async def wait(
        self, prompt: AuthorizationPrompt, show: AuthorizationHandler, seconds: float
    ) -> AuthorizationCodeResult:
        """Listen, show ``prompt``, and return the redirect that comes back first.

        Raises:
            AuthorizationFailed: the port is taken, the server refused, or ``seconds`` passed.
        """
        try:
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self.port)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise AuthorizationFailed(
                f"cannot listen on 127.0.0.1:{self.port} for the sign-in redirect ({reason}); "
                "free the port or set oauth.callback_port"
            ) from exc
        async with listener:
            with anyio.move_on_after(seconds):
                async with anyio.create_task_group() as tasks:

                    async def handle(stream: SocketStream) -> None:
                        async with stream:
                            with anyio.move_on_after(_REQUEST_SECONDS):
                                await self._answer(stream, prompt)

                    async def show_prompt() -> None:
                        try:
                            await show(prompt)
                        except AuthorizationFailed as exc:
                            prompt._finish(exc)
                        except Exception as exc:  # the caller's handler: its failure ends this sign-in
                            text = f"showing the sign-in failed: {type(exc).__name__}: {exc}"
                            prompt._finish(AuthorizationFailed(one_line(text, 300)))

                    tasks.start_soon(listener.serve, handle, tasks)
                    tasks.start_soon(show_prompt)
                    await prompt._done.wait()
                    tasks.cancel_scope.cancel()
        if not prompt.done:
            raise AuthorizationFailed(f"no sign-in came back within {seconds:g} s")
        return prompt._outcome()

    async def _answer(self, stream: SocketStream, prompt: AuthorizationPrompt) -> None:
        """Read one request; a redirect to the callback path completes ``prompt``."""
        head = b""
        while b"\r\n\r\n" not in head and len(head) < _HEAD_LIMIT:
            try:
                head += await stream.receive()
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                return
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        target = rest.rpartition(" ")[0] or rest
        parts = urlsplit(target)
        if method != "GET" or parts.path != CALLBACK_PATH:
            await _respond(stream, 404, "Not found.")
            return
        try:
            result: AuthorizationCodeResult | AuthorizationFailed = parse_redirect(parts.query)
        except AuthorizationFailed as exc:
            result = exc
        except ValueError:
            await _respond(stream, 400, "This is not an authorization redirect.")
            return
        if isinstance(result, AuthorizationFailed):
            await _respond(stream, 200, f"Sign-in failed: {result}. You can close this tab.")
        else:
            await _respond(stream, 200, "Signed in. You can close this tab and return to the terminal.")
        prompt._finish(result)


async def _respond(stream: SocketStream, status: int, text: str) -> None:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    body = f"<!doctype html><title>agent</title><p>{html.escape(text)}</p>\n".encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n"
    )
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
        await stream.send(head.encode("latin-1") + body)
