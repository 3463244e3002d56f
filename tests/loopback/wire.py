"""OpenRouter's wire shapes: completion JSON, stream chunks, SSE framing and error bodies.

Pure functions of a step plus the ids the server assigned, so tests can check shapes directly.
Shapes follow /work/shared/reference/openrouter.md §3 (non-streamed), §4 (streaming), §6 (errors).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from tests.loopback.steps import Call, Reply, StreamFault, detail_text

__all__ = [
    "CREATED",
    "PROCESSING",
    "completion",
    "error_body",
    "fault_chunks",
    "fault_completion",
    "reply_chunks",
    "sse_body",
]

CREATED = 1_750_000_000
"""A fixed ``created`` timestamp, so expectations can be whole objects."""

PROCESSING = ": OPENROUTER PROCESSING\n\n"
"""The SSE comment OpenRouter sends first and as a keep-alive."""

FRAGMENT_SIZES = (1, 2, 3)


def error_body(
    code: int | str,
    message: str,
    metadata: Mapping[str, Any] | None = None,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """OpenRouter's error envelope ``{"error": {"code", "message", ...fields, "metadata"?}}``."""
    inner: dict[str, Any] = {"code": code, "message": message, **(fields or {})}
    if metadata is not None:
        inner["metadata"] = dict(metadata)
    return {"error": inner}


def _wire_call(call: Call, call_id: str | None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": call.name}
    arguments = call.arguments_text()
    if arguments is not None:
        function["arguments"] = arguments
    wire: dict[str, Any] = {}
    if call_id is not None:
        wire["id"] = call_id
    wire.update({"type": "function", "function": function})
    return wire


def _message(reply: Reply, call_ids: Sequence[str | None]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
    if reply.reasoning_text() is not None:
        message["reasoning"] = reply.reasoning_text()
    if reply.reasoning_details is not None:
        message["reasoning_details"] = [dict(d) for d in reply.reasoning_details]
    if reply.tool_calls:
        message["tool_calls"] = [_wire_call(c, i) for c, i in zip(reply.tool_calls, call_ids, strict=True)]
    return message


def completion(reply: Reply, *, gen_id: str, model: str, call_ids: Sequence[str | None]) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` body of reference §3."""
    body: dict[str, Any] = {
        "id": gen_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": reply.model or model,
        "provider": reply.provider,
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": reply.finish(),
                "native_finish_reason": reply.native_finish(),
                "message": _message(reply, call_ids),
            }
        ],
    }
    if reply.usage is not None:
        body["usage"] = reply.usage.to_wire()
    return body


def fault_completion(
    fault: StreamFault, *, gen_id: str, model: str, call_ids: Sequence[str | None]
) -> dict[str, Any]:
    """A non-streamed failure after generation started: 200, partial content, ``choices[0].error``."""
    body = completion(fault.partial, gen_id=gen_id, model=model, call_ids=call_ids)
    choice = body["choices"][0]
    choice["finish_reason"] = "error"
    choice["native_finish_reason"] = "error"
    choice["error"] = dict(fault.error)
    return body


def _pieces(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), max(size, 1)):
        yield text[start : start + max(size, 1)]


def _fragments(text: str) -> Iterator[str]:
    start, turn = 0, 0
    while start < len(text):
        size = FRAGMENT_SIZES[turn % len(FRAGMENT_SIZES)]
        yield text[start : start + size]
        start, turn = start + size, turn + 1


def _deltas(reply: Reply, call_ids: Sequence[str | None]) -> list[dict[str, Any]]:
    deltas: list[dict[str, Any]] = []
    if reply.reasoning_details is None:
        deltas += [{"reasoning": p} for p in _pieces(reply.reasoning or "", reply.piece_size)]
    for detail in reply.reasoning_details or ():  # as OpenRouter: each detail with its text as reasoning
        text = detail_text(detail)
        deltas.append(
            {"reasoning": text, "reasoning_details": [dict(detail)]}
            if text
            else {"reasoning_details": [dict(detail)]}
        )
    deltas += [{"content": p} for p in _pieces(reply.content or "", reply.piece_size)]
    for index, (call, call_id) in enumerate(zip(reply.tool_calls, call_ids, strict=True)):
        first = {"index": index, **_wire_call(call, call_id)}
        arguments = call.arguments_text()
        if reply.whole_tool_calls or not arguments:
            deltas.append({"tool_calls": [first]})
            continue
        first["function"]["arguments"] = ""
        deltas.append({"tool_calls": [first]})
        deltas += [
            {"tool_calls": [{"index": index, "function": {"arguments": fragment}}]}
            for fragment in _fragments(arguments)
        ]
    if not deltas:
        deltas.append({"content": ""})
    deltas[0] = {"role": "assistant", **deltas[0]}
    return deltas


def _chunk(gen_id: str, model: str, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "id": gen_id,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        **extra,
        "choices": choices,
    }


def reply_chunks(
    reply: Reply, *, gen_id: str, model: str, call_ids: Sequence[str | None]
) -> list[dict[str, Any]]:
    """Every data chunk of a streamed reply: deltas, the finish chunk, then the usage chunk if any."""
    model = reply.model or model
    chunks = [
        _chunk(
            gen_id,
            model,
            [
                {
                    "index": 0,
                    "delta": delta,
                    "finish_reason": None,
                    "native_finish_reason": None,
                    "logprobs": None,
                }
            ],
        )
        for delta in _deltas(reply, call_ids)
    ]
    finish = {
        "index": 0,
        "delta": {},
        "finish_reason": reply.finish(),
        "native_finish_reason": reply.native_finish(),
        "logprobs": None,
    }
    chunks.append(_chunk(gen_id, model, [finish], provider=reply.provider))
    if reply.usage is not None:
        usage_choices = [finish] if reply.usage_chunk_with_choice else []
        chunks.append(
            _chunk(gen_id, model, usage_choices, provider=reply.provider, usage=reply.usage.to_wire())
        )
    return chunks


def fault_chunks(
    fault: StreamFault, *, gen_id: str, model: str, call_ids: Sequence[str | None]
) -> list[dict[str, Any]]:
    """The data chunks a faulty stream sends: the partial reply's first chunks, then any error chunk."""
    chunks = reply_chunks(fault.partial, gen_id=gen_id, model=model, call_ids=call_ids)
    before_finish = len(chunks) - (2 if fault.partial.usage is not None else 1)
    chunks = chunks[: before_finish if fault.after_chunks is None else fault.after_chunks]
    if fault.kind == "error":
        choice = {"index": 0, "delta": {"content": ""}, "finish_reason": "error"}
        model = fault.partial.model or model
        chunks.append(
            _chunk(gen_id, model, [choice], provider=fault.partial.provider, error=dict(fault.error))
        )
    return chunks


def sse_body(
    chunks: Sequence[Mapping[str, Any]], *, keepalives: bool = False, done: bool = True
) -> Iterator[str]:
    """SSE events: the processing comment, each ``data:`` chunk (comments between if asked), ``[DONE]``."""
    yield PROCESSING
    for number, chunk in enumerate(chunks):
        if keepalives and number:
            yield PROCESSING
        yield f"data: {json.dumps(chunk)}\n\n"
    if done:
        yield "data: [DONE]\n\n"
