"""Deciding each tool call before it runs: the policy's rules, then approval when one is needed.

:class:`ToolGate` is what the loop asks (one ``await gate.check(...)`` per call). A call the rules
of :class:`~agent.policy.ToolPolicy` refuse is refused. A call that needs approval is allowed
when its tool was approved for the session earlier; otherwise it is answered, in this order, by
``--yes`` (``yes=True``), by the ``--approve-with`` hook, or by the ``approve_tool`` handler (a
person at a terminal, in the CLI); with none of these it is refused. A refused call never runs:
the model gets an error result saying who refused it and why, and the run goes on.

The hook protocol (``--approve-with CMD``): CMD is split like a shell would (:func:`shlex.split`)
but run without one, in the agent's working directory, with the minimal environment stdio MCP
servers get (no API keys). Its stdin is the :class:`~agent.events.ToolApprovalRequest` as one
JSON object, then end of file. Its answer is its stdout: the first non-empty line is ``allow``
or ``deny`` (any case), or the output is one JSON object ``{"decision": "allow"|"deny",
"reason": "..."}``. Anything else, a non-zero exit, no answer within :data:`HOOK_TIMEOUT`
seconds or more than :data:`HOOK_OUTPUT_LIMIT` bytes of output is a denial, with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from subprocess import PIPE
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import anyio

from agent.errors import ConfigError
from agent.events import ApprovalAnswered, ApprovalRequested, EventSink, ToolApproval, ToolApprovalRequest
from agent.policy import ToolPolicy
from agent.text import one_line
from agent.tools import ToolOutcome

if TYPE_CHECKING:
    from anyio.abc import ByteReceiveStream, Process

    from agent.tools import ToolInfo

__all__ = [
    "HOOK_OUTPUT_LIMIT",
    "HOOK_TIMEOUT",
    "ToolApprover",
    "ToolGate",
    "ask_hook",
    "hook_command",
    "parse_hook_answer",
]

ToolApprover: TypeAlias = Callable[[ToolApprovalRequest], Awaitable[ToolApproval | bool]]
"""Answers whether a tool call may run (True: this once); may raise ``Refused(reason)`` when no
one can be asked (``agent.mcp.client_features.Refused``)."""

HOOK_TIMEOUT = 30.0
"""Seconds an ``--approve-with`` hook has to answer."""
HOOK_OUTPUT_LIMIT = 64 * 1024
"""Bytes of stdout a hook may write; more is a denial."""
_STDERR_LIMIT = 4 * 1024
_SHOWN = 200
By = Literal["user", "hook", "policy", "flag"]


def hook_command(command: str, cwd: Path | None = None) -> list[str]:
    """The argv of an ``--approve-with`` command, checked before anything starts.

    Raises:
        ConfigError: the command cannot be parsed, is empty, or names no program that exists.
    """
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfigError(f"cannot parse the command line: {exc}", source="--approve-with") from None
    if not argv:
        raise ConfigError("expected a command line, got an empty one", source="--approve-with")
    program = argv[0]
    if os.sep in program:
        path = Path(program).expanduser()
        path = path if path.is_absolute() else (cwd or Path.cwd()) / path
        found = path.is_file() and os.access(path, os.X_OK)
    else:
        found = shutil.which(program) is not None
    if not found:
        raise ConfigError(f"command not found: {program}", source="--approve-with")
    return argv


class ToolGate:
    """Decides whether each tool call may run (see the module docstring).

    Args:
        policy: the allow/deny rules and the approval mode.
        yes: approve every call that needs approval (``--yes``).
        hook: the argv of the ``--approve-with`` hook, if any.
        approver: the ``approve_tool`` handler, if any.
        cwd: where the hook runs (default: the current directory).
        approved: the ``(server, tool)`` pairs allowed for the session; kept by the caller so
            they last as long as it does.
        hook_timeout: seconds the hook has to answer.
    """

    def __init__(
        self,
        policy: ToolPolicy,
        *,
        yes: bool = False,
        hook: Sequence[str] | None = None,
        approver: ToolApprover | None = None,
        cwd: Path | None = None,
        approved: set[tuple[str, str]] | None = None,
        hook_timeout: float = HOOK_TIMEOUT,
    ) -> None:
        self.policy = policy
        self.yes = yes
        self.hook = list(hook) if hook else None
        self.approver = approver
        self.cwd = cwd
        self.approved = approved if approved is not None else set()
        self.hook_timeout = hook_timeout
        self._asking = anyio.Lock()

    @property
    def open(self) -> bool:
        """Whether every call runs unasked: the loop need not ask."""
        return self.policy.open

    async def check(
        self, tool: ToolInfo, name: str, arguments: Any, call_id: str, emit: EventSink | None
    ) -> ToolOutcome | None:
        """None when the call of ``tool`` (``name`` as the model knows it) may run, else its refusal."""
        refusal = self.policy.refusal(tool.server, tool.name)
        if refusal is not None:
            _answered(emit, call_id, tool, "deny", "policy", reason=refusal)
            return ToolOutcome(f"Not run: tool '{name}' is denied by policy: {refusal}. Do without it.", True)
        why = self.policy.needs_approval(tool)
        if why is None:
            return None
        key = (tool.server, tool.name)
        if key in self.approved:
            _answered(emit, call_id, tool, "allow", "user", scope="session")
            return None
        request = ToolApprovalRequest(
            call_id=call_id,
            server=tool.server,
            tool=tool.name,
            arguments=arguments,
            annotations=dict(tool.annotations),
            read_only=tool.read_only,
            destructive=tool.destructive,
            reason=why,
        )
        if emit is not None:
            emit(ApprovalRequested(request=request))
        answer, by = await self._answer(request, key)
        _answered(emit, call_id, tool, answer.decision, by, scope=answer.scope, reason=answer.reason)
        if answer.decision == "allow":
            return None
        if by == "user":
            text = f"Not run: the user denied this call of '{name}'"
        elif by == "hook":
            text = f"Not run: the approval hook denied this call of '{name}'"
        else:
            text = f"Not run: this call of '{name}' was denied by policy: it needs approval, as {why}, "
            text += "and none was given"
        reason = f": {answer.reason}." if answer.reason else "."
        return ToolOutcome(text + reason, True)

    async def _answer(self, request: ToolApprovalRequest, key: tuple[str, str]) -> tuple[ToolApproval, By]:
        if self.yes:
            return ToolApproval.once(), "flag"
        if self.hook is not None:
            return await ask_hook(self.hook, request, cwd=self.cwd, timeout=self.hook_timeout), "hook"
        if self.approver is None:
            reason = "there is no one to ask (no approve_tool handler; yes=True or approve_with approves it)"
            return ToolApproval.deny(reason), "policy"
        from agent.mcp.client_features import Refused

        async with self._asking:  # one question at a time; an answer may settle the ones waiting
            if key in self.approved:
                return ToolApproval.session(), "user"
            try:
                answer = await self.approver(request)
            except Refused as exc:
                return ToolApproval.deny(exc.reason), "policy"
            except Exception as exc:  # a handler that broke must not end the run
                reason = (
                    f"the approve_tool handler failed: {type(exc).__name__}: {one_line(str(exc), _SHOWN)}"
                )
                return ToolApproval.deny(reason), "policy"
            if isinstance(answer, bool):
                answer = ToolApproval.once() if answer else ToolApproval.deny()
            if answer.decision == "allow" and answer.scope == "session":
                self.approved.add(key)
            return answer, "user"


def _answered(
    emit: EventSink | None,
    call_id: str,
    tool: ToolInfo,
    decision: Literal["allow", "deny"],
    by: By,
    *,
    scope: Literal["once", "session"] = "once",
    reason: str | None = None,
) -> None:
    if emit is not None:
        emit(
            ApprovalAnswered(
                call_id=call_id,
                server=tool.server,
                tool=tool.name,
                decision=decision,
                by=by,
                scope=scope,
                reason=reason,
            )
        )


# -- the --approve-with hook -------------------------------------------------------------------


def parse_hook_answer(output: str) -> ToolApproval:
    """A hook's stdout as an answer (see the module docstring); anything unclear denies."""
    text = output.strip()
    if not text:
        return ToolApproval.deny("the approval hook answered nothing")
    first = text.splitlines()[0].strip()
    if first.lower() in ("allow", "deny"):
        return ToolApproval.once() if first.lower() == "allow" else ToolApproval.deny()
    if first.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict) and value.get("decision") in ("allow", "deny"):
            reason = value.get("reason")
            reason = one_line(reason, _SHOWN) if isinstance(reason, str) and reason.strip() else None
            if value["decision"] == "allow":
                return ToolApproval.once()
            return ToolApproval.deny(reason)
    return ToolApproval.deny(f"the approval hook answered neither allow nor deny: {one_line(first, 80)}")


def hook_environment() -> dict[str, str]:
    """What the hook inherits: the variables stdio MCP servers get, and nothing else (no keys)."""
    from agent.mcp.stdio import INHERITED_ENV

    return {k: v for k in INHERITED_ENV if (v := os.environ.get(k)) is not None and not v.startswith("()")}


async def ask_hook(
    argv: Sequence[str],
    request: ToolApprovalRequest,
    *,
    cwd: Path | None = None,
    timeout: float = HOOK_TIMEOUT,  # noqa: ASYNC109 (a hook past it is a denial, not a cancellation)
) -> ToolApproval:
    """Run the ``--approve-with`` hook for ``request`` and read its answer (never raises)."""
    try:
        process = await anyio.open_process(
            list(argv),
            stdin=PIPE,
            stdout=PIPE,
            stderr=PIPE,
            cwd=cwd,
            env=hook_environment(),
            start_new_session=True,
        )
    except OSError as exc:
        return ToolApproval.deny(f"the approval hook could not be started: {one_line(str(exc), _SHOWN)}")
    stdout, stderr = bytearray(), bytearray()
    too_long = False
    try:
        with anyio.move_on_after(timeout) as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_feed, process, request.model_dump_json().encode())
                tg.start_soon(_collect, process.stderr, stderr, _STDERR_LIMIT, False)
                too_long = await _collect(process.stdout, stdout, HOOK_OUTPUT_LIMIT, True)
                if too_long:
                    tg.cancel_scope.cancel()
                else:
                    await process.wait()
    finally:
        with anyio.CancelScope(shield=True):
            await _end(process)
    if scope.cancelled_caught:
        return ToolApproval.deny(f"the approval hook did not answer within {timeout:g} s")
    if too_long:
        return ToolApproval.deny(f"the approval hook wrote more than {HOOK_OUTPUT_LIMIT // 1024} KiB")
    if process.returncode != 0:
        said = stderr.decode("utf-8", "replace").strip().splitlines()
        detail = f": {one_line(said[-1], _SHOWN)}" if said else ""
        return ToolApproval.deny(f"the approval hook exited with status {process.returncode}{detail}")
    try:
        output = stdout.decode("utf-8")
    except UnicodeDecodeError:
        return ToolApproval.deny("the approval hook answered with bytes that are not UTF-8")
    return parse_hook_answer(output)


async def _feed(process: Process, data: bytes) -> None:
    """Write the request to the hook's stdin and close it (a hook that does not read it is fine)."""
    assert process.stdin is not None
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.send(data)
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        await process.stdin.aclose()


async def _collect(stream: ByteReceiveStream | None, into: bytearray, limit: int, strict: bool) -> bool:
    """Read ``stream`` to its end into ``into``, keeping at most ``limit`` bytes.

    True when ``strict`` and the stream went past the limit (the rest is then not read).
    """
    if stream is None:
        return False
    with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
        async for chunk in stream:
            if len(into) + len(chunk) > limit:
                if strict:
                    return True
                into.extend(chunk)
                del into[: len(into) - limit]
                continue
            into.extend(chunk)
    return False


async def _end(process: Process) -> None:
    """Make sure the hook and whatever it started are gone, and its pipes closed."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    with contextlib.suppress(Exception):
        await process.aclose()
