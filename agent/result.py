"""The outcome of a run: exactly the object ``agent run --json`` prints."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from agent.errors import AgentError
from agent.mcp.report import ServerReport
from agent.messages import Usage

__all__ = ["ErrorInfo", "RunResult", "StopReason", "ToolCallRecord"]

StopReason = Literal["completed", "max_turns", "max_cost", "max_tokens", "timeout", "error"]


class ToolCallRecord(BaseModel):
    """One tool call of a run and what came of it."""

    id: str
    server: str
    tool: str
    arguments: Any
    output: str
    is_error: bool
    duration_ms: float


class ErrorInfo(BaseModel):
    """Why a run failed: the error class name and its one-line message."""

    type: str
    message: str


class RunResult(BaseModel):
    """Everything a script needs to know about a finished run."""

    output: str = ""
    data: Any = None
    """With an output schema: the answer as JSON (``--json``), or the pydantic object asked for."""
    stop_reason: StopReason = "completed"
    model: str = ""
    models_tried: list[str] = Field(default_factory=list)
    tool_protocol: Literal["native", "text"] = "native"
    turns: int = 0
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    usage_by_model: dict[str, Usage] = Field(default_factory=dict)
    """The run's usage per model that answered (fallbacks and sampling for servers included)."""
    generation_ids: list[str] = Field(default_factory=list)
    """The provider's id of each response (OpenRouter's ``gen-…``), for ``Agent.generations``."""
    duration_ms: float = 0.0
    error: ErrorInfo | None = None
    servers: list[ServerReport] = Field(default_factory=list)
    session_id: str | None = None
    _exception: AgentError | None = PrivateAttr(default=None)

    @property
    def exception(self) -> AgentError | None:
        """The error that ended the run, for callers that map it to an exit code."""
        return self._exception

    def fail(self, exc: AgentError) -> None:
        """Record ``exc`` as the reason the run stopped."""
        self.stop_reason = "error"
        self.error = ErrorInfo(type=exc.type_name, message=str(exc))
        self._exception = exc
