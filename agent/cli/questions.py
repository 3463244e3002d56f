"""Questions to the person at the terminal: servers asking for the model or for input, tool calls.

``agent run`` hands these to the :class:`~agent.Agent` as its ``approve_sampling``,
``answer_elicitation`` and ``approve_tool`` handlers. A tool call that needs approval is shown
(tool, why, arguments) and allowed once, for the rest of the session, or denied (``y/a/N``).
A sampling request is shown and asked about (``y/N``); an elicitation form is asked field by
field, Enter keeping the schema's default; a URL request shows the URL (never opened for the
user). Not at a terminal all three are refused with the reason, which the run's output shows.
An HTTP server's OAuth sign-in shows the URL to open and takes the address the browser ended
on, pasted, when it cannot reach this machine's loopback listener (see
:meth:`TerminalQuestions.authorize`). One question at a time, whatever the servers do
concurrently; everything a server wrote is shown on one cleaned line.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, TextIO, TypedDict

import anyio

from agent.cli.render import HumanRenderer
from agent.events import (
    ElicitationAnswer,
    ElicitationField,
    ElicitationRequest,
    SamplingRequest,
    ToolApproval,
    ToolApprovalRequest,
)
from agent.mcp.client_features import Refused
from agent.mcp.elicitation import parse_value, show_value
from agent.mcp.oauth_redirect import AuthorizationPrompt
from agent.messages import AssistantMessage, ToolMessage, UserMessage
from agent.text import one_line

if TYPE_CHECKING:
    from agent.approval import ToolApprover
    from agent.core.agent import ElicitationHandler, SamplingApprover
    from agent.mcp.oauth import AuthorizationHandler


class AgentHooks(TypedDict):
    """The ``Agent`` keywords that put its questions to a person at the terminal."""

    approve_sampling: SamplingApprover
    answer_elicitation: ElicitationHandler
    authorize: AuthorizationHandler | None
    approve_tool: ToolApprover


__all__ = ["AgentHooks", "TerminalQuestions"]

_TRIES = 3
_SHOWN = 300


class TerminalQuestions:
    """The CLI's answers to servers' requests: asked at a terminal, refused elsewhere.

    Args:
        renderer: the run's renderer (its progress line is cleared before a question).
        stdin: where answers are read.
        stderr: where questions are written.
        interactive: whether a person can be asked (stdin and stderr are terminals, and stdin
            does not carry the prompt).
    """

    def __init__(self, renderer: HumanRenderer, stdin: TextIO, stderr: TextIO, *, interactive: bool) -> None:
        self.renderer = renderer
        self.stdin = stdin
        self.stderr = stderr
        self.interactive = interactive
        self._lock = anyio.Lock()
        self._typed = b""
        """Bytes read from the terminal past the last line answered."""

    def agent_hooks(self) -> AgentHooks:
        """The ``Agent`` keywords that put its questions to this terminal (sign-in only when interactive)."""
        return {
            "approve_sampling": self.approve_sampling,
            "answer_elicitation": self.answer_elicitation,
            "authorize": self.authorize if self.interactive else None,
            "approve_tool": self.approve_tool,
        }

    async def approve_sampling(self, request: SamplingRequest) -> bool:
        """Ask whether the server may have the model answer its request.

        Raises:
            Refused: not at a terminal.
        """
        if not self.interactive:
            raise Refused("not asked: not at a terminal (--allow-sampling allows it)")
        async with self._lock:
            self._begin()
            self._say(f"MCP server '{request.server}' asks the model for a completion (sampling):")
            if request.system_prompt:
                self._say(f"  system: {one_line(request.system_prompt, _SHOWN)}")
            last = request.messages[-1] if request.messages else None
            if isinstance(last, UserMessage | AssistantMessage | ToolMessage) and last.content:
                self._say(f"  {last.role}: {one_line(last.content, _SHOWN)}")
            tools = f"; tools: {one_line(', '.join(request.tools), _SHOWN)}" if request.tools else ""
            self._say(f"  up to {request.max_tokens} tokens, {len(request.messages)} messages{tools}")
            answer = await self._ask("Allow it? [y/N] ")
            return (answer or "").strip().lower() in ("y", "yes")

    async def approve_tool(self, request: ToolApprovalRequest) -> ToolApproval:
        """Ask whether a tool call may run: this once, for the rest of the session, or not.

        Raises:
            Refused: not at a terminal.
        """
        if not self.interactive:
            raise Refused("not at a terminal (--yes or --approve-with CMD approves it)")
        async with self._lock:
            self._begin()
            name = one_line(f"{request.server}.{request.tool}", 160)
            self._say(f"Tool {name} needs your approval: {one_line(request.reason, _SHOWN)}")
            self._say(f"  arguments: {one_line(request.arguments, _SHOWN)}")
            answer = await self._ask("Run it? y: this once, a: always (this session), n: no [y/a/N] ")
            choice = (answer or "").strip().lower()
            if choice in ("y", "yes"):
                return ToolApproval.once()
            if choice in ("a", "always"):
                return ToolApproval.session()
            return ToolApproval.deny()

    async def answer_elicitation(self, request: ElicitationRequest) -> ElicitationAnswer:
        """Ask the person for what the server wants: the form's fields, or to visit a URL.

        Raises:
            Refused: not at a terminal.
        """
        if not self.interactive:
            raise Refused("not asked: not at a terminal")
        async with self._lock:
            self._begin()
            if request.mode == "url":
                return await self._url(request)
            return await self._form(request)

    async def authorize(self, prompt: AuthorizationPrompt) -> None:
        """Show a server's sign-in URL, and take the address the browser ended on if it is pasted.

        The loopback listener completes the sign-in by itself when the browser runs here; this
        question is then cancelled. Not at a terminal there is no one to sign in: the server
        fails to start, saying so.
        """
        async with self._lock:
            self._begin()
            self._say(f"MCP server '{one_line(prompt.server, 80)}' needs you to sign in. Open:")
            self._say(f"  {one_line(prompt.url, 4_000)}")
            self._say(
                f"  The browser comes back to {prompt.redirect_uri}; if that is not this machine, "
                "paste the address it ended on."
            )
            for _ in range(_TRIES):
                text = await self._ask("Address (or wait): ")
                if text is None or prompt.done:
                    return
                if not text.strip():
                    continue
                try:
                    prompt.submit(text)
                except ValueError as exc:
                    self._say(f"  {exc}")
                    continue
                return

    async def _url(self, request: ElicitationRequest) -> ElicitationAnswer:
        message = one_line(request.message, _SHOWN)
        self._say(f"MCP server '{request.server}' asks you to open a web page: {message}")
        self._say(f"  {one_line(request.url or '', 2_000)}")
        answer = await self._ask("Open it yourself; done (or about to)? [y/N] ")
        if answer is None:
            return ElicitationAnswer.cancel()
        if answer.strip().lower() in ("y", "yes"):
            return ElicitationAnswer.accept()
        return ElicitationAnswer.decline()

    async def _form(self, request: ElicitationRequest) -> ElicitationAnswer:
        self._say(f"MCP server '{request.server}' asks for input: {one_line(request.message, _SHOWN)}")
        answer = await self._ask("Answer it? [y/N] ")
        if answer is None:
            return ElicitationAnswer.cancel()
        if answer.strip().lower() not in ("y", "yes"):
            return ElicitationAnswer.decline()
        if request.fields:
            self._say("  (Enter keeps the value in brackets; Ctrl-D cancels)")
        content = {}
        for field in request.fields:
            value = await self._field(field)
            if value is _CANCELLED:
                return ElicitationAnswer.cancel()
            if value is not _OMITTED:
                content[field.name] = value
        return ElicitationAnswer.accept(content)

    async def _field(self, field: ElicitationField) -> object:
        """The value of one field, asked until valid (a few times); a marker when cancelled or left out."""
        for _ in range(_TRIES):
            text = await self._ask(_field_prompt(field))
            if text is None:
                return _CANCELLED
            if not text.strip():
                if field.default is not None:
                    return field.default
                if not field.required:
                    return _OMITTED
                self._say("    an answer is needed")
                continue
            try:
                return parse_value(field, text)
            except ValueError as exc:
                self._say(f"    {exc}")
        return _CANCELLED

    def _begin(self) -> None:
        self.renderer.clear_progress()
        self.renderer.close_line()

    def _say(self, line: str) -> None:
        self.stderr.write(line + "\n")
        self.stderr.flush()

    async def _ask(self, question: str) -> str | None:
        """One line typed by the person; None at end of input (Ctrl-D) or when it cannot be read."""
        self.stderr.write(question)
        self.stderr.flush()
        try:
            line = await self._readline()
        except (OSError, ValueError):
            line = ""
        if not line.endswith("\n"):
            self.stderr.write("\n")
            return None
        return line.rstrip("\n")

    async def _readline(self) -> str:
        """The next line of input, waited for without a thread, so a cancelled question leaves no reader.

        A stream without a file descriptor (a test's) is read directly.
        """
        try:
            fd = self.stdin.fileno()
        except (OSError, ValueError, AttributeError):
            return self.stdin.readline()
        while b"\n" not in self._typed:
            await anyio.wait_readable(fd)
            chunk = os.read(fd, 4096)
            if not chunk:
                rest, self._typed = self._typed, b""
                return rest.decode("utf-8", "replace")
            self._typed += chunk
        line, _, self._typed = self._typed.partition(b"\n")
        return line.decode("utf-8", "replace") + "\n"


class _Marker:
    pass


_CANCELLED = _Marker()
_OMITTED = _Marker()


def _field_prompt(field: ElicitationField) -> str:
    """``  Title (what is expected) — description [default]: ``."""
    if field.kind in ("choice", "choices"):
        numbered = ", ".join(f"{n}) {o.title}" for n, o in enumerate(field.options, 1))
        expected = ("one of " if field.kind == "choice" else "any of, comma-separated: ") + numbered
    elif field.kind == "boolean":
        expected = "yes/no"
    elif field.kind in ("number", "integer"):
        expected = "a whole number" if field.kind == "integer" else "a number"
    else:
        expected = field.format or ""
    parts = [f"  {one_line(field.title, 80)}"]
    if expected:
        parts.append(f" ({one_line(expected, _SHOWN)})")
    if field.description:
        parts.append(f" — {one_line(field.description, 160)}")
    if field.default is not None:
        parts.append(f" [{one_line(show_value(field, field.default), 80)}]")
    elif not field.required:
        parts.append(" [optional]")
    return "".join(parts) + ": "
