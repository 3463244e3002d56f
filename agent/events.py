"""Typed events of a run: what the CLI renders, and what ``--events`` prints as JSON lines.

Besides the run's own progress, MCP servers speak through events: a tool's progress
(``ToolProgress``), log messages (``ServerLog``), a changed tool list that could not be listed
(``ToolsRefreshFailed``), and requests for the model (``SamplingRequested``/``SamplingFinished``)
or for the user (``ElicitationRequested``/``ElicitationAnswered``). An elicitation request can be
answered through its event (:meth:`ElicitationRequested.respond`, see
:func:`answer_through_events`). While a tool call runs, :data:`CURRENT_CALL` says which call it is
and where its run's events go.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field, PrivateAttr

from agent.messages import Message, Usage
from agent.result import RunResult, ToolCallRecord

__all__ = [
    "CURRENT_CALL",
    "LOG_LEVELS",
    "CallScope",
    "ElicitationAnswer",
    "ElicitationAnswered",
    "ElicitationField",
    "ElicitationOption",
    "ElicitationRequest",
    "ElicitationRequested",
    "Event",
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
    "ToolCallFinished",
    "ToolCallStarted",
    "ToolProgress",
    "ToolsRefreshFailed",
    "TurnStarted",
    "answer_through_events",
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


class ServerStarted(BaseModel):
    """An MCP server is up."""

    type: Literal["server_started"] = "server_started"
    server: str
    tools: int
    duration_ms: float


class ServerFailed(BaseModel):
    """An MCP server did not start; the run goes on without it."""

    type: Literal["server_failed"] = "server_failed"
    server: str
    message: str
    stderr_tail: str = ""


class RunStarted(BaseModel):
    """The loop begins."""

    type: Literal["run_started"] = "run_started"
    model: str
    tools: int
    tool_protocol: Literal["native", "text"]


class TurnStarted(BaseModel):
    """A request to the model is about to be sent."""

    type: Literal["turn_started"] = "turn_started"
    turn: int


class TextDelta(BaseModel):
    """A streamed fragment of the answer."""

    type: Literal["text_delta"] = "text_delta"
    text: str


class ReasoningDelta(BaseModel):
    """A streamed fragment of the model's reasoning."""

    type: Literal["reasoning_delta"] = "reasoning_delta"
    text: str


class ModelResponded(BaseModel):
    """The model answered a turn."""

    type: Literal["model_responded"] = "model_responded"
    turn: int
    model: str
    content: str | None
    tool_calls: int
    finish_reason: str | None
    usage: Usage
    duration_ms: float


class Retrying(BaseModel):
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


class FallingBack(BaseModel):
    """A model stayed unavailable; the turn goes to the next model of the fallback chain."""

    type: Literal["falling_back"] = "falling_back"
    from_model: str
    to_model: str
    error: str


class ProtocolSwitched(BaseModel):
    """The model cannot take native tool calls; the run goes on with the text protocol."""

    type: Literal["protocol_switched"] = "protocol_switched"
    model: str
    tool_protocol: Literal["native", "text"]
    reason: str


class ToolCallStarted(BaseModel):
    """A tool call is about to run."""

    type: Literal["tool_call_started"] = "tool_call_started"
    id: str
    server: str
    tool: str
    arguments: Any


class ToolCallFinished(BaseModel):
    """A tool call finished (or failed, or timed out)."""

    type: Literal["tool_call_finished"] = "tool_call_finished"
    call: ToolCallRecord


class ToolProgress(BaseModel):
    """A running tool reported how far it got (MCP ``notifications/progress``)."""

    type: Literal["tool_progress"] = "tool_progress"
    server: str
    tool: str
    call_id: str
    progress: float
    total: float | None = None
    message: str | None = None


class ServerLog(BaseModel):
    """An MCP server sent a log message (``notifications/message``); ``message`` is its data as text."""

    type: Literal["server_log"] = "server_log"
    server: str
    level: LogLevel
    logger: str | None = None
    message: str


class ToolsRefreshFailed(BaseModel):
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


class SamplingRequested(BaseModel):
    """A server asked for a completion by the model; approval is the Agent's ``approve_sampling``."""

    type: Literal["sampling_requested"] = "sampling_requested"
    request: SamplingRequest


class SamplingFinished(BaseModel):
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


class ElicitationRequested(BaseModel):
    """A server asks the user for input; answer it with :meth:`respond` (see :class:`ElicitationRequest`)."""

    type: Literal["elicitation_requested"] = "elicitation_requested"
    request: ElicitationRequest

    def respond(self, answer: ElicitationAnswer) -> bool:
        """Answer the request; False when it was answered already."""
        return self.request.respond(answer)


class ElicitationAnswered(BaseModel):
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


class Notice(BaseModel):
    """Something the user should know that does not stop the run."""

    type: Literal["notice"] = "notice"
    level: Literal["info", "warning"] = "warning"
    message: str


class RunFinished(BaseModel):
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
    | Notice
    | RunFinished
)
EventSink = Callable[[Event], None]
"""Receives every event of a run, in order, in the run's task."""


@dataclass(frozen=True, slots=True)
class CallScope:
    """The tool call a task is running, and where that run's events go (None: nowhere)."""

    call_id: str
    emit: EventSink | None


CURRENT_CALL: ContextVar[CallScope | None] = ContextVar("agent_current_call", default=None)
"""Set by the loop around each tool call: MCP progress, sampling and elicitation during the call
are put down to it, and reported to its run (progress is asked for only when the run listens)."""
