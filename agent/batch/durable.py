"""Model requests and tool calls as DBOS steps, so an interrupted task carries on where it stopped.

:class:`DurableModel` wraps a chat model and :class:`DurableToolset` a toolset. Inside a DBOS
workflow (and outside any step) each request and each call is one step: its outcome (the
:class:`~agent.messages.ModelResponse`, the :class:`~agent.tools.ToolOutcome`, or the error the
loop acts on) is recorded as JSON, and a recovered workflow gets the recorded outcome back
instead of asking again: a model request that was answered is never paid for twice. Outside a
workflow both pass everything through unchanged.

Steps are told apart by their order in the workflow. Model requests come one at a time; the tool
calls of a turn run concurrently and may reach the toolset in any order, so the step of each
call is drawn (:meth:`DBOS.reserve_step`) right after the response that asked for them, in call
order, and the call takes the step reserved for its call id. Calls whose ids are not known then
(text-protocol calls, parsed outside this wrapper) take the next step when they start.

What is recorded goes through :func:`scrub` first: the API key and header values never reach
the database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from dbos import DBOS, StepOptions, StepReservation

from agent import errors
from agent.errors import AgentError, ConfigError, ProviderError
from agent.events import CURRENT_CALL
from agent.messages import ImagePart, MediaPart, ModelResponse
from agent.providers.base import ChatModel, ModelCall, WrapperModel
from agent.redaction import redact
from agent.tools import ToolInfo, ToolOutcome, Toolset

__all__ = ["DurableModel", "DurableToolset", "in_workflow", "scrub", "workflow_scope"]

_MODEL_STEP: StepOptions = {"name": "model_request"}
_TOOL_STEP: StepOptions = {"name": "tool_call"}

_RESERVED: ContextVar[dict[str, list[StepReservation]] | None] = ContextVar(
    "agent_batch_reserved_steps", default=None
)
"""The steps drawn for the tool calls of the workflow's last response, by call id."""

_PROVIDER_ERRORS: dict[str, type[ProviderError]] = {
    cls.__name__: cls
    for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, ProviderError)
}


def in_workflow() -> bool:
    """Whether the caller is workflow code: inside a DBOS workflow, outside any step."""
    return DBOS.workflow_id is not None and DBOS.step_id is None


def workflow_scope() -> None:
    """Start a workflow's own table of reserved tool-call steps (call once, first thing)."""
    _RESERVED.set({})


def scrub(value: dict[str, Any], secrets: Sequence[str | None]) -> dict[str, Any]:
    """``value`` (JSON) with the secrets and anything shaped like a key replaced, before it is stored."""
    text = json.dumps(value, ensure_ascii=False)
    lowered = text.lower()
    if "sk-" not in lowered and "bearer" not in lowered and not any(s and s in text for s in secrets):
        return value
    scrubbed: dict[str, Any] = json.loads(redact(text, secrets))
    return scrubbed


class DurableModel(WrapperModel):
    """A chat model whose requests are DBOS steps inside a workflow (see the module docstring)."""

    def __init__(self, inner: ChatModel, secrets: Sequence[str | None] = ()) -> None:
        super().__init__(inner)
        self.secrets = tuple(secrets)

    async def request(self, call: ModelCall) -> ModelResponse:
        """Answer ``call`` from its recorded step, or send it and record the answer."""
        if not in_workflow():
            return await call.send(self.inner)
        live: list[AgentError] = []

        async def send() -> dict[str, Any]:
            try:
                response = await call.send(self.inner)
            except AgentError as exc:
                live.append(exc)
                return scrub({"error": error_payload(exc)}, self.secrets)
            recorded = {
                "response": response.model_dump(mode="json", exclude_defaults=True),
                "tried": list(call.run.models_tried),
                "answered_by": call.run.answered_by,
            }
            return scrub(recorded, self.secrets)

        outcome: dict[str, Any] = await DBOS.run_step_async(_MODEL_STEP, send)
        if "error" in outcome:
            raise live[0] if live else error_from(outcome["error"])
        response = ModelResponse.model_validate(outcome["response"])
        if not live and not call.run.models_tried:  # replayed: the wrappers' facts of the run
            call.run.note_tried(outcome.get("tried") or [])
            call.run.answered_by = outcome.get("answered_by")
        reserved = _RESERVED.get()
        if reserved is not None:
            reserved.clear()
            for tool_call in response.message.tool_calls:
                reserved.setdefault(tool_call.id, []).append(DBOS.reserve_step())
        return response


class DurableToolset:
    """A toolset whose calls are DBOS steps inside a workflow (see the module docstring)."""

    def __init__(self, inner: Toolset, secrets: Sequence[str | None] = ()) -> None:
        self.inner = inner
        self.secrets = tuple(secrets)

    def tools(self) -> Sequence[ToolInfo]:
        """The tools of ``inner``."""
        return self.inner.tools()

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """Answer the call from its recorded step, or make it and record the outcome."""
        if not in_workflow():
            return await self.inner.call(server, tool, arguments)
        live: list[BaseException] = []

        async def make() -> dict[str, Any]:
            try:
                outcome = await self.inner.call(server, tool, arguments)
            except Exception as exc:  # the loop turns it into an error result; replayed the same
                live.append(exc)
                text = str(exc) if isinstance(exc, AgentError) else f"{type(exc).__name__}: {exc}"
                return scrub({"raised": text}, self.secrets)
            return scrub(_outcome_payload(outcome), self.secrets)

        scope = CURRENT_CALL.get()
        reserved = _RESERVED.get()
        queue = reserved.get(scope.call_id) if scope is not None and reserved is not None else None
        if queue:
            recorded: dict[str, Any] = await queue.pop(0).run_async(_TOOL_STEP, make)
        else:
            recorded = await DBOS.run_step_async(_TOOL_STEP, make)
        if "raised" in recorded:
            if live:
                raise live[0]
            raise AgentError(str(recorded["raised"]))
        return _outcome_from(recorded)


def error_payload(exc: AgentError) -> dict[str, Any]:
    """What is kept of an error a model request ended in, to raise it again on replay."""
    payload: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, ProviderError):
        payload.update(exc.as_json())
    return payload


def error_from(payload: dict[str, Any]) -> AgentError:
    """The error :func:`error_payload` describes (its class when it is one of ours)."""
    kind, message = str(payload.get("type")), str(payload.get("message", ""))
    provider = _PROVIDER_ERRORS.get(kind)
    if provider is not None:
        return provider.from_json(payload)
    if kind == "ConfigError":
        return ConfigError(message)
    return AgentError(message)


def _outcome_payload(outcome: ToolOutcome) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": outcome.text}
    if outcome.is_error:
        payload["is_error"] = True
    if outcome.media:
        payload["media"] = [part.model_dump(mode="json") for part in outcome.media]
    return payload


def _outcome_from(payload: dict[str, Any]) -> ToolOutcome:
    media: list[MediaPart] = []
    for part in payload.get("media") or ():
        if part.get("type") == "image":
            media.append(ImagePart.model_validate(part))
        else:
            from agent.messages import AudioPart

            media.append(AudioPart.model_validate(part))
    return ToolOutcome(str(payload.get("text", "")), bool(payload.get("is_error")), tuple(media))
