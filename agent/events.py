"""Typed events of a run: what the CLI renders, and what ``--events`` prints as JSON lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from agent.messages import Usage
from agent.result import RunResult, ToolCallRecord

__all__ = [
    "Event",
    "EventSink",
    "FallingBack",
    "ModelResponded",
    "Notice",
    "ProtocolSwitched",
    "ReasoningDelta",
    "Retrying",
    "RunFinished",
    "RunStarted",
    "ServerFailed",
    "ServerStarted",
    "TextDelta",
    "ToolCallFinished",
    "ToolCallStarted",
    "TurnStarted",
]


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
    | Notice
    | RunFinished
)
EventSink = Callable[[Event], None]
"""Receives every event of a run, in order, in the run's task."""
