"""Wire responses to our types: one builder that whole JSON bodies and stream chunks both feed.

A non-streamed body is processed like a stream of one chunk whose choice carries ``message``
instead of ``delta``, so both paths produce the same :class:`~agent.messages.ModelResponse`.
The builder tolerates what real providers send: tool-call deltas without ``index``, calls
without ids or with repeated ones, ``arguments`` missing, ``null``, empty or given as an object,
a ``finish_reason`` repeated in the usage chunk, and usage with or without ``choices``.
"""

from __future__ import annotations

import json
from typing import Any

from agent.errors import BadResponseError
from agent.messages import AssistantMessage, ModelResponse, ToolCall, Usage, new_call_id
from agent.providers.base import DeltaCallback
from agent.providers.http_errors import error_from_body

__all__ = ["ResponseBuilder"]

_EMPTY_ARGUMENTS = frozenset({"", "null", "[]", "{}"})


class _Call:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []


class ResponseBuilder:
    """Accumulates one response from a whole body or from stream chunks, then builds it.

    Args:
        model: the model requested, named in errors and used when the response names none.
        secret: the API key, so errors that echo it can redact it.
        on_delta: called with each text or reasoning fragment as it is processed.
    """

    def __init__(
        self, *, model: str, secret: str | None = None, on_delta: DeltaCallback | None = None
    ) -> None:
        self._requested_model = model
        self._secret = secret
        self._on_delta = on_delta
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._details: list[dict[str, Any]] = []
        self._detail_text: list[str] | None = None  # the pieces of the last detail's text
        self._calls: list[_Call] = []
        self._by_index: dict[int, _Call] = {}
        self._usage: Usage | None = None
        self._saw_choice = False
        self.finish_reason: str | None = None
        self.native_finish_reason: str | None = None
        self.model: str | None = None
        self.provider: str | None = None
        self.id: str | None = None

    def add(self, payload: Any) -> None:
        """Process a whole ``chat.completion`` body or one ``chat.completion.chunk``.

        Raises:
            ProviderError: the payload carries an ``error`` object (mapped by its code).
            BadResponseError: the payload is not a JSON object.
        """
        if not isinstance(payload, dict):
            raise BadResponseError(
                f"expected a JSON object from the provider, got {type(payload).__name__}",
                model=self._requested_model,
            )
        self._check_error(payload.get("error"))
        self.id = _str(payload.get("id")) or self.id
        self.model = _str(payload.get("model")) or self.model
        self.provider = _str(payload.get("provider")) or self.provider
        usage = payload.get("usage")
        if isinstance(usage, dict):
            self._usage = _usage(usage)
        choices = payload.get("choices")
        if not isinstance(choices, list):
            return
        for choice in choices:
            if isinstance(choice, dict) and choice.get("index") in (0, None):
                self._add_choice(choice)
                break

    def build(self) -> ModelResponse:
        """The finished response.

        Raises:
            BadResponseError: no choice arrived, or the model finished with ``error``.
        """
        if not self._saw_choice:
            raise BadResponseError("the response had no choices and no error", model=self._requested_model)
        if self.finish_reason == "error":
            native = f" (native: {self.native_finish_reason})" if self.native_finish_reason else ""
            raise BadResponseError(
                f"the model finished with an error{native} and no error message",
                model=self._requested_model,
            )
        calls: list[ToolCall] = []
        seen: set[str] = set()
        for call in self._calls:
            call_id = call.id if call.id and call.id not in seen else new_call_id()
            seen.add(call_id)
            arguments = "".join(call.arguments)
            if arguments.strip() in _EMPTY_ARGUMENTS:
                arguments = "{}"
            calls.append(ToolCall(id=call_id, name=call.name, arguments=arguments))
        text = "".join(self._text)
        self._join_detail_text()
        message = AssistantMessage(
            content=text or None,
            tool_calls=calls,
            reasoning="".join(self._reasoning) or None,
            reasoning_details=self._details or None,
        )
        return ModelResponse(
            message=message,
            usage=self._usage or Usage(),
            finish_reason=self.finish_reason,
            native_finish_reason=self.native_finish_reason,
            model=self.model or self._requested_model,
            provider=self.provider,
            id=self.id,
        )

    def _check_error(self, error: Any) -> None:
        if error:
            if not isinstance(error, dict):
                error = {"message": str(error)}
            raise error_from_body(error, status=None, model=self._requested_model, secret=self._secret)

    def _add_choice(self, choice: dict[str, Any]) -> None:
        self._check_error(choice.get("error"))
        self._saw_choice = True
        # After a finish, deltas are not content: some providers repeat the finish (and even the
        # tool calls) in the usage chunk.
        finished = self.finish_reason is not None
        part = choice.get("delta")
        if part is None:
            part = choice.get("message")
        if isinstance(part, dict) and not finished:
            self._add_part(part, streamed="delta" in choice)
        self.finish_reason = _str(choice.get("finish_reason")) or self.finish_reason
        self.native_finish_reason = _str(choice.get("native_finish_reason")) or self.native_finish_reason

    def _add_part(self, part: dict[str, Any], *, streamed: bool) -> None:
        details = part.get("reasoning_details")
        reasoning = part.get("reasoning")
        if reasoning is None:
            reasoning = part.get("reasoning_content")
        if isinstance(details, list):
            for detail in details:
                if isinstance(detail, dict):
                    self._add_detail(detail)
            if not reasoning:
                reasoning = "".join(_detail_text(d) for d in details if isinstance(d, dict))
        if isinstance(reasoning, str) and reasoning:
            self._reasoning.append(reasoning)
            if self._on_delta:
                self._on_delta("reasoning", reasoning)
        content = part.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text") or "" for p in content if isinstance(p, dict))
        if isinstance(content, str) and content:
            self._text.append(content)
            if self._on_delta:
                self._on_delta("text", content)
        tool_calls = part.get("tool_calls")
        if isinstance(tool_calls, list):
            for position, entry in enumerate(tool_calls):
                if isinstance(entry, dict):
                    self._add_call(entry, None if streamed else position)

    def _add_detail(self, detail: dict[str, Any]) -> None:
        last = self._details[-1] if self._details else None
        if (
            last is not None
            and detail.get("type") == "reasoning.text"
            and last.get("type") == "reasoning.text"
            and detail.get("index") == last.get("index")
        ):
            # The text streams in many pieces: join them once, not once per piece.
            if self._detail_text is None:
                self._detail_text = [last.get("text") or ""]
            self._detail_text.append(detail.get("text") or "")
            for key, value in detail.items():
                if key != "text" and value is not None and last.get(key) is None:
                    last[key] = value
        else:
            self._join_detail_text()
            self._details.append(dict(detail))

    def _join_detail_text(self) -> None:
        if self._detail_text is not None:
            self._details[-1]["text"] = "".join(self._detail_text)
            self._detail_text = None

    def _add_call(self, entry: dict[str, Any], position: int | None) -> None:
        function = entry.get("function")
        function = function if isinstance(function, dict) else {}
        call_id = entry.get("id") if isinstance(entry.get("id"), str) else ""
        name = function.get("name") if isinstance(function.get("name"), str) else ""
        index = entry.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            index = position
        if index is not None:
            call = self._by_index.get(index)
        else:
            last = self._calls[-1] if self._calls else None
            starts_new = (
                last is None or (call_id and call_id != last.id) or (not call_id and name and last.name)
            )
            call = None if starts_new else last
        if call is None:
            call = _Call()
            self._calls.append(call)
            if index is not None:
                self._by_index[index] = call
        if call_id and not call.id:
            call.id = call_id
        if name and not call.name:
            call.name = name
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            call.arguments.append(arguments)
        elif isinstance(arguments, dict | list):
            call.arguments = [json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))]


def _detail_text(detail: dict[str, Any]) -> str:
    for key in ("text", "summary"):
        value = detail.get(key)
        if isinstance(value, str):
            return value
    return ""


def _usage(raw: dict[str, Any]) -> Usage:
    prompt = _int(raw.get("prompt_tokens"))
    completion = _int(raw.get("completion_tokens"))
    total = _int(raw.get("total_tokens")) or prompt + completion
    cost = raw.get("cost")
    cost = float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
    prompt_details = raw.get("prompt_tokens_details")
    prompt_details = prompt_details if isinstance(prompt_details, dict) else {}
    completion_details = raw.get("completion_tokens_details")
    completion_details = completion_details if isinstance(completion_details, dict) else {}
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=total,
        cost=cost,
        cached_tokens=_int(prompt_details.get("cached_tokens")),
        cache_write_tokens=_int(prompt_details.get("cache_write_tokens")),
        reasoning_tokens=_int(completion_details.get("reasoning_tokens")),
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
