"""Typed events of a run: what the CLI renders, and what ``--events`` prints as JSON lines.

Besides the run's own progress, MCP servers speak through events: a tool's progress
(``ToolProgress``), log messages (``ServerLog``), a changed tool list that could not be listed
(``ToolsRefreshFailed``), and requests for the model (``SamplingRequested``/``SamplingFinished``)
or for the user (``ElicitationRequested``/``ElicitationAnswered``). An elicitation request can be
answered through its event (:meth:`ElicitationRequested.respond`, see
:func:`answer_through_events`). A tool call that needs approval, or that the policy refuses,
says so (``ApprovalRequested``/``ApprovalAnswered``). While a tool call runs,
:data:`CURRENT_CALL` says which call it is and where its run's events go.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, computed_field

from agent.mcp.report import ServerReport
from agent.messages import Message, Usage
from agent.result import RunResult, ToolCallRecord

if TYPE_CHECKING:
    from agent.budget import Spending

__all__ = [
    "CURRENT_CALL",
    "LOG_LEVELS",
    "SCHEMA_VERSION",
    "ApprovalAnswered",
    "ApprovalRequested",
    "CallScope",
    "ElicitationAnswer",
    "ElicitationAnswered",
    "ElicitationField",
    "ElicitationOption",
    "ElicitationRequest",
    "ElicitationRequested",
    "Event",
    "EventBase",
    "EventSink",
    "FallingBack",
    "LogLevel",
    "ModelResponded",
    "Notice",
    "ProtocolSwitched",
    "ReasoningDelta",
    "Retrying",
    "RunFinished",
    "RunStarted",
    "SamplingFinished",
    "SamplingRequest",
    "SamplingRequested",
    "ServerFailed",
    "ServerLog",
    "ServerStarted",
    "TextDelta",
    "ToolApproval",
    "ToolApprovalRequest",
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolProgress",
    "ToolsRefreshFailed",
    "TurnStarted",
    "UsageReported",
    "answer_through_events",
    "utc_now",
]

LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
LOG_LEVELS: tuple[LogLevel, ...] = (
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
)
"""The MCP (syslog) log levels, least severe first."""


SCHEMA_VERSION = 1
"""The version of the event stream's schema (``docs/events.schema.json``): bumped when a field
is removed or changes meaning; new event types and new fields do not bump it."""


def utc_now() -> str:
    """The time now as ISO 8601 UTC with milliseconds: ``2026-11-30T18:04:05.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventBase(BaseModel):
    """What every event carries: its ``type``, its place in its run, and when it happened.

    ``seq`` counts a run's events from 1 (0 for events outside a run, such as servers
    starting); ``ts`` is ISO 8601 UTC with milliseconds.
    """

    # The schema says what every line has: fields with defaults are always written too.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    type: str
    seq: int = 0
    ts: str = Field(default_factory=utc_now)

    def __eq__(self, other: object) -> bool:
        """Equal when they say the same: where and when each was reported do not count."""
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, EventBase)
        return _said(self) == _said(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like every pydantic model


def _said(event: EventBase) -> dict[str, Any]:
    return {name: value for name, value in event.__dict__.items() if name not in ("seq", "ts")}


class ServerStarted(EventBase):
    """An MCP server is up."""

    type: Literal["server_started"] = "server_started"
    server: str
    tools: int
    duration_ms: float


class ServerFailed(EventBase):
    """An MCP server did not start; the run goes on without it."""

    type: Literal["server_failed"] = "server_failed"
    server: str
    message: str
    stderr_tail: str = ""


class RunStarted(EventBase):
    """The loop begins: the first event of a run.

    ``session_id`` names the session the run is stored in (None: not stored); ``servers`` are
    the run's MCP servers as ``--json`` reports them.
    """

    type: Literal["run_started"] = "run_started"
    schema_version: int = SCHEMA_VERSION
    session_id: str | None = None
    model: str
    tools: int
    tool_protocol: Literal["native", "text"]
    servers: list[ServerReport] = Field(default_factory=list)


class TurnStarted(EventBase):
    """A request to the model is about to be sent."""

    type: Literal["turn_started"] = "turn_started"
    turn: int


class TextDelta(EventBase):
    """A streamed fragment of the answer."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class ReasoningDelta(EventBase):
    """A streamed fragment of the model's reasoning."""

    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str


class ModelResponded(EventBase):
    """The model answered a turn."""

    type: Literal["model_responded"] = "model_responded"
    turn: int
    model: str
    content: str | None
    tool_calls: int
    finish_reason: str | None
    usage: Usage
    duration_ms: float


class UsageReported(EventBase):
    """Tokens and cost of a turn's response, and of the run so far (after ``model_responded``)."""

    type: Literal["usage"] = "usage"
    turn: int
    model: str
    usage: Usage
    total: Usage


class Retrying(EventBase):
    """A model request failed and will be sent again after ``delay`` seconds.

    ``discarded_partial`` is true when streamed output of the failed attempt was already shown:
    none of it enters the history.
    """

    type: Literal["retrying"] = "retrying"
    model: str
    attempt: int
    delay: float
    error: str
    discarded_partial: bool = False


class FallingBack(EventBase):
    """A model stayed unavailable; the turn goes to the next model of the fallback chain."""

    type: Literal["falling_back"] = "falling_back"
    from_model: str
    to_model: str
    error: str


class ProtocolSwitched(EventBase):
    """The model cannot take native tool calls; the run goes on with the text protocol."""

    type: Literal["protocol_switched"] = "protocol_switched"
    model: str
    tool_protocol: Literal["native", "text"]
    reason: str


class ToolCallStarted(EventBase):
    """A tool call is about to run."""

    type: Literal["tool_call_started"] = "tool_call_started"
    id: str
    server: str
    tool: str
    arguments: Any


class ToolCallFinished(EventBase):
    """A tool call finished (or failed, or timed out)."""

    type: Literal["tool_call_finished"] = "tool_call_finished"
    call: ToolCallRecord

    @computed_field  # type: ignore[prop-decorator]
    @property
    def outcome(self) -> Literal["ok", "error"]:
        """``error`` when the model got an error result (the tool failed, timed out or was refused)."""
        return "error" if self.call.is_error else "ok"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_ms(self) -> float:
        """How long the call took, in milliseconds."""
        return self.call.duration_ms


class ToolProgress(EventBase):
    """A running tool reported how far it got (MCP ``notifications/progress``)."""

    type: Literal["tool_progress"] = "tool_progress"
    server: str
    tool: str
    call_id: str
    progress: float
    total: float | None = None
    message: str | None = None


class ServerLog(EventBase):
    """An MCP server sent a log message (``notifications/message``); ``message`` is its data as text."""

    type: Literal["server_log"] = "server_log"
    server: str
    level: LogLevel
    logger: str | None = None
    message: str


class ToolsRefreshFailed(EventBase):
    """A server said its tools changed, but listing them failed: the ``tools`` known before stay."""

    type: Literal["tools_refresh_failed"] = "tools_refresh_failed"
    server: str
    error: str
    tools: int


class SamplingRequest(BaseModel):
    """An MCP server asks for a completion by the run's model (``sampling/createMessage``).

    ``messages`` is the conversation the server sent, in our terms (a ``system_prompt`` is not
    among them); ``tools`` names the tools the model may call (their calls go back to the server,
    which runs them). ``call_id`` is the tool call during which the server asked, when known.
    """

    server: str
    call_id: str | None = None
    messages: list[Message]
    system_prompt: str | None = None
    max_tokens: int
    temperature: float | None = None
    tools: list[str] = Field(default_factory=list)
    model_hints: list[str] = Field(default_factory=list)


class SamplingRequested(EventBase):
    """A server asked for a completion by the model; approval is the Agent's ``approve_sampling``."""

    type: Literal["sampling_requested"] = "sampling_requested"
    request: SamplingRequest


class SamplingFinished(EventBase):
    """A sampling request was answered by ``model`` (``approved``), or refused or failed (``error``)."""

    type: Literal["sampling_finished"] = "sampling_finished"
    server: str
    call_id: str | None = None
    approved: bool
    model: str | None = None
    usage: Usage | None = None
    error: str | None = None


class ElicitationOption(BaseModel):
    """One allowed value of a choice field, and how it is shown."""

    value: str
    title: str


class ElicitationField(BaseModel):
    """One field of an elicitation form, read from the server's (flat) JSON schema.

    ``kind``: ``string``, ``number``, ``integer``, ``boolean``, ``choice`` (one of ``options``)
    or ``choices`` (several of them). ``default`` is the schema's default, if any.
    """

    name: str
    title: str
    description: str = ""
    kind: Literal["string", "number", "integer", "boolean", "choice", "choices"]
    required: bool = False
    default: Any = None
    options: list[ElicitationOption] = Field(default_factory=list)
    format: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None


class ElicitationAnswer(BaseModel):
    """The user's answer to an elicitation: accept (with ``content``), decline, or cancel."""

    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None

    @classmethod
    def accept(cls, content: dict[str, Any] | None = None) -> ElicitationAnswer:
        """Accept, with the form's values (field name -> value); a URL request takes none."""
        return cls(action="accept", content=dict(content or {}))

    @classmethod
    def decline(cls) -> ElicitationAnswer:
        """Say no to what the server asked."""
        return cls(action="decline")

    @classmethod
    def cancel(cls) -> ElicitationAnswer:
        """Dismiss the request without saying yes or no."""
        return cls(action="cancel")


class ElicitationRequest(BaseModel):
    """An MCP server asks the user for input (``elicitation/create``).

    ``mode="form"``: fill in ``fields`` (answer with their values, by field name).
    ``mode="url"``: open ``url`` (never opened for the user); accept once done, or decline.
    The request can be answered once, by whoever answers first: the Agent's
    ``answer_elicitation`` handler, or a consumer of the :class:`ElicitationRequested` event
    calling :meth:`respond` (which :func:`answer_through_events` waits for).
    """

    server: str
    call_id: str | None = None
    mode: Literal["form", "url"]
    message: str
    fields: list[ElicitationField] = Field(default_factory=list)
    url: str | None = None
    _answer: ElicitationAnswer | None = PrivateAttr(default=None)
    _answered: anyio.Event | None = PrivateAttr(default=None)

    @property
    def answered(self) -> bool:
        """Whether an answer was given."""
        return self._answer is not None

    def respond(self, answer: ElicitationAnswer) -> bool:
        """Answer the request; False (and no effect) when it was answered already."""
        if self._answer is not None:
            return False
        self._answer = answer
        if self._answered is not None:
            self._answered.set()
        return True

    async def answer(self) -> ElicitationAnswer:
        """Wait until the request is answered, and return the answer."""
        if self._answer is None:
            if self._answered is None:
                self._answered = anyio.Event()
            await self._answered.wait()
        assert self._answer is not None
        return self._answer


class ElicitationRequested(EventBase):
    """A server asks the user for input; answer it with :meth:`respond` (see :class:`ElicitationRequest`)."""

    type: Literal["elicitation_requested"] = "elicitation_requested"
    request: ElicitationRequest

    def respond(self, answer: ElicitationAnswer) -> bool:
        """Answer the request; False when it was answered already."""
        return self.request.respond(answer)


class ElicitationAnswered(EventBase):
    """What an elicitation request got back (never the values given).

    ``reason`` says why, when it was declined without asking anyone.
    """

    type: Literal["elicitation_answered"] = "elicitation_answered"
    server: str
    call_id: str | None = None
    action: Literal["accept", "decline", "cancel"]
    reason: str | None = None


async def answer_through_events(request: ElicitationRequest) -> ElicitationAnswer:
    """An ``answer_elicitation`` handler that waits for a consumer of the events to answer.

    ``Agent(answer_elicitation=answer_through_events)``; a consumer of ``agent.events(...)`` (or
    of ``on_event``) answers with ``event.respond(ElicitationAnswer.accept({...}))``. A request
    nobody answers waits as long as the tool call may take (``tool_timeout``).
    """
    return await request.answer()


class ToolApprovalRequest(BaseModel):
    """A tool call that needs approval before it runs (see :mod:`agent.policy`).

    ``annotations`` are the hints the server sent (snake_case, as ``agent tools --json`` shows
    them); ``read_only`` and ``destructive`` are what they come to under the MCP spec's
    defaults. ``reason`` says why approval is needed. This is also what an ``--approve-with``
    hook reads on its stdin, as one JSON object.
    """

    call_id: str
    server: str
    tool: str
    arguments: Any
    annotations: dict[str, Any] = Field(default_factory=dict)
    read_only: bool = False
    destructive: bool = True
    reason: str


class ToolApproval(BaseModel):
    """The answer to a :class:`ToolApprovalRequest`.

    Allow this call (``once``), or the tool for the rest of the agent's life (``session``); or
    deny it, with a ``reason`` the model is told.
    """

    decision: Literal["allow", "deny"]
    scope: Literal["once", "session"] = "once"
    reason: str | None = None

    @classmethod
    def once(cls) -> ToolApproval:
        """Allow this call."""
        return cls(decision="allow")

    @classmethod
    def session(cls) -> ToolApproval:
        """Allow this call and every later call of the same tool by the same agent."""
        return cls(decision="allow", scope="session")

    @classmethod
    def deny(cls, reason: str | None = None) -> ToolApproval:
        """Refuse this call; ``reason`` goes to the model with the refusal."""
        return cls(decision="deny", reason=reason)


class ApprovalRequested(EventBase):
    """A tool call needs approval: it waits for ``--yes``, the hook, or the ``approve_tool`` handler."""

    type: Literal["approval_requested"] = "approval_requested"
    request: ToolApprovalRequest


class ApprovalAnswered(EventBase):
    """Whether a tool call may run, and who said so.

    ``by``: ``user`` (the ``approve_tool`` handler, a person at a terminal; also a tool they
    allowed for the session, ``scope: "session"``), ``hook`` (``--approve-with``), ``flag``
    (``--yes``), or ``policy`` (an allow/deny rule refused it, or no one could be asked).
    ``reason`` says why a call was denied.
    """

    type: Literal["approval_answered"] = "approval_answered"
    call_id: str
    server: str
    tool: str
    decision: Literal["allow", "deny"]
    by: Literal["user", "hook", "policy", "flag"]
    scope: Literal["once", "session"] = "once"
    reason: str | None = None


class Notice(EventBase):
    """Something the user should know that does not stop the run."""

    type: Literal["notice"] = "notice"
    level: Literal["info", "warning"] = "warning"
    message: str


class RunFinished(EventBase):
    """The run is over; ``result`` is what ``--json`` prints."""

    type: Literal["run_finished"] = "run_finished"
    result: RunResult


Event = (
    ServerStarted
    | ServerFailed
    | RunStarted
    | TurnStarted
    | TextDelta
    | ReasoningDelta
    | ModelResponded
    | UsageReported
    | Retrying
    | FallingBack
    | ProtocolSwitched
    | ToolCallStarted
    | ToolCallFinished
    | ToolProgress
    | ServerLog
    | ToolsRefreshFailed
    | SamplingRequested
    | SamplingFinished
    | ElicitationRequested
    | ElicitationAnswered
    | ApprovalRequested
    | ApprovalAnswered
    | Notice
    | RunFinished
)
EventSink = Callable[[Event], None]
"""Receives every event of a run, in order, in the run's task."""


@dataclass(frozen=True, slots=True)
class CallScope:
    """The tool call a task is running, where that run's events go, and what the run spends.

    ``emit`` None: the events go nowhere; ``spending`` None: completions sampled for the call's
    server are not counted toward a run.
    """

    call_id: str
    emit: EventSink | None
    spending: Spending | None = None
    progress: bool = True
    """Whether anyone listening wants the tool's progress (a session recorder alone does not)."""


CURRENT_CALL: ContextVar[CallScope | None] = ContextVar("agent_current_call", default=None)
"""Set by the loop around each tool call: MCP progress, sampling and elicitation during the call
are put down to it, and reported to its run (progress is asked for only when the run listens)."""
