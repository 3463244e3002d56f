"""The text tool protocol as a wrapper: models without native tool calls use tools through text.

In a run whose :attr:`~agent.run_context.RunContext.protocol` is ``text``, the tools are
described in the system prompt (``<tools>…</tools>``), the history goes out with calls and
results as ``<tool_call>``/``<tool_response>`` text and no tool schemas, and the reply's
``<tool_call>`` blocks come back as native tool calls, so the loop sees one protocol. Problems
with the blocks travel back as :attr:`~agent.messages.ModelResponse.feedback` for the model.

A native run switches to text (once, announced by a ``ProtocolSwitched`` event) when the
provider says the model has no tool endpoints, or when the model writes its calls as
``<tool_call>`` text naming the offered tools; :attr:`RunContext.protocol_switch` can forbid it.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent import text_protocol
from agent.errors import NoToolEndpointsError
from agent.messages import AssistantMessage, Message, ModelResponse, SystemMessage, ToolSpec
from agent.providers.base import ModelCall, WrapperModel

__all__ = ["TextProtocolModel"]

_WROTE_TEXT = "the model wrote its tool calls as <tool_call> text"


class TextProtocolModel(WrapperModel):
    """Speaks the run's tool protocol to ``inner``: native requests pass through unchanged."""

    async def request(self, call: ModelCall) -> ModelResponse:
        """Send ``call`` in the run's protocol; switch a native run to text when the model needs it."""
        run = call.run
        if not call.tools:
            return await call.send(self.inner)
        if run.protocol == "text":
            return await self._in_text(call)
        try:
            response = await call.send(self.inner)
        except NoToolEndpointsError as exc:
            if not run.protocol_switch:
                raise
            run.switch_to_text(exc.model or self.model_name, str(exc))
            return await self._in_text(call)
        if run.protocol_switch and _writes_calls_as_text(response.message, call.tools):
            run.switch_to_text(response.model or self.model_name, _WROTE_TEXT)
            return _as_native(response)
        return response

    async def _in_text(self, call: ModelCall) -> ModelResponse:
        settings = call.settings
        system = "\n\n".join(m.content for m in call.messages if isinstance(m, SystemMessage)) or None
        messages: list[Message] = []
        if settings.tool_choice == "none":  # no tools on offer: the run's own system prompt only
            if system:
                messages.append(SystemMessage(content=system))
        else:
            required = settings.tool_choice == "required"
            messages.append(
                SystemMessage(content=text_protocol.system_prompt(call.tools, system, require_call=required))
            )
        history = text_protocol.to_text_history(call.messages)
        messages.extend(m for m in history if not isinstance(m, SystemMessage))
        plain = settings.model_copy(update={"tool_choice": None})
        return _as_native(await call.send(self.inner, messages=messages, tools=[], settings=plain))


def _writes_calls_as_text(message: AssistantMessage, tools: Sequence[ToolSpec]) -> bool:
    """A native reply with no calls whose text holds ``<tool_call>`` blocks naming offered tools.

    Some models (served through providers that do not map their tool format) answer this way;
    the run goes on in the text protocol rather than taking the blocks for the answer.
    """
    if message.tool_calls or not message.content or "<tool_call>" not in message.content:
        return False
    offered = {tool.name for tool in tools}
    calls = text_protocol.parse(message.content).calls
    return bool(calls) and all(c.name in offered for c in calls)


def _as_native(response: ModelResponse) -> ModelResponse:
    """The response with its ``<tool_call>`` blocks turned into native calls, problems as feedback."""
    parsed = text_protocol.parse(response.message.content or "")
    message = response.message.model_copy(
        update={"content": parsed.text_outside or None, "tool_calls": parsed.calls}
    )
    return response.model_copy(
        update={"message": message, "feedback": [*response.feedback, *parsed.problems]}
    )
