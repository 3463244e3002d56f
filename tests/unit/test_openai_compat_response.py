from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from agent.messages import AssistantMessage, ModelResponse, ToolCall, Usage
from agent.providers.base import DeltaKind
from tests.unit.test_openai_compat_support import (
    MODEL,
    args_chunks,
    chunk,
    complete,
    fragments,
    stream_response,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


TEXT = "Checking both — ok ✓."
REASONING = "Need two calls: Paris, then Oslo."
PARIS = '{"city": "Paris"}'
OSLO = '{"city":"Oslo","units":"°C"}'
USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 30,
    "total_tokens": 150,
    "cost": 0.00042,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 12},
}
DETAIL = {
    "type": "reasoning.text",
    "text": REASONING,
    "signature": "sig",
    "format": "anthropic-claude-v1",
    "index": 0,
}
ENCRYPTED = {"type": "reasoning.encrypted", "data": "b64==", "format": "anthropic-claude-v1", "index": 1}

WHOLE = {
    "id": "gen-42",
    "object": "chat.completion",
    "created": 1,
    "model": MODEL,
    "provider": "Acme",
    "choices": [
        {
            "index": 0,
            "finish_reason": "tool_calls",
            "native_finish_reason": "tool_use",
            "message": {
                "role": "assistant",
                "content": TEXT,
                "reasoning": REASONING,
                "reasoning_details": [DETAIL, ENCRYPTED],
                "tool_calls": [
                    {
                        "id": "call_p",
                        "type": "function",
                        "function": {"name": "weather__get", "arguments": PARIS},
                    },
                    {
                        "id": "call_o",
                        "type": "function",
                        "function": {"name": "weather__get", "arguments": OSLO},
                    },
                ],
            },
        }
    ],
    "usage": USAGE,
}


def first_call_delta(
    index: int | None, call_id: str | None, name: str, arguments: Any = ""
) -> dict[str, Any]:
    call: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": arguments}}
    if index is not None:
        call["index"] = index
    if call_id is not None:
        call["id"] = call_id
    return chunk({"tool_calls": [call]})


def streamed_events(usage_chunk_has_choice: bool = False) -> list[dict[str, Any]]:
    detail_head = {k: v for k, v in DETAIL.items() if k not in ("text", "signature")}
    events = [chunk({"role": "assistant", "content": ""})]
    events += [
        chunk({"reasoning": piece, "reasoning_details": [detail_head | {"text": piece}]})
        for piece in fragments(REASONING)
    ]
    events.append(chunk({"reasoning_details": [detail_head | {"text": "", "signature": "sig"}]}))
    events.append(chunk({"reasoning_details": [ENCRYPTED]}))
    events += [chunk({"content": piece}) for piece in fragments(TEXT)]
    events.append(first_call_delta(0, "call_p", "weather__get"))
    events += args_chunks(0, PARIS)
    events.append(first_call_delta(1, "call_o", "weather__get"))
    events += args_chunks(1, OSLO)
    events.append(chunk({}, finish="tool_calls", native="tool_use"))
    if usage_chunk_has_choice:
        repeat = {"tool_calls": [{"index": 1, "function": {"arguments": OSLO}}]}
        events.append(chunk(repeat, finish="tool_calls", native="tool_use", usage=USAGE, provider="Acme"))
    else:
        events.append(chunk(choices=False, usage=USAGE, provider="Acme"))
    return events


EXPECTED = ModelResponse(
    message=AssistantMessage(
        content=TEXT,
        tool_calls=[
            ToolCall(id="call_p", name="weather__get", arguments=PARIS),
            ToolCall(id="call_o", name="weather__get", arguments=OSLO),
        ],
        reasoning=REASONING,
        reasoning_details=[DETAIL, ENCRYPTED],
    ),
    usage=Usage(prompt_tokens=120, completion_tokens=30, total_tokens=150, cost=0.00042, reasoning_tokens=12),
    finish_reason="tool_calls",
    native_finish_reason="tool_use",
    model=MODEL,
    provider="Acme",
    id="gen-42",
)


@pytest.mark.anyio
async def test_whole_response_is_mapped_to_our_types() -> None:
    response, _ = await complete(httpx.Response(200, json=WHOLE), stream=False)
    assert response == EXPECTED


@pytest.mark.anyio
@pytest.mark.parametrize("size", [1, 5, 64, 100_000])
async def test_streamed_response_equals_the_whole_one_however_the_stream_is_cut(size: int) -> None:
    events = [e | {"id": "gen-42"} for e in streamed_events()]
    response, _ = await complete(stream_response(events, size=size), stream=True)
    assert response == EXPECTED


@pytest.mark.anyio
@pytest.mark.parametrize(
    "has_choice", [False, True], ids=["usage-without-choices", "usage-with-repeated-finish"]
)
async def test_usage_is_read_from_the_final_chunk_with_or_without_choices(has_choice: bool) -> None:
    events = [e | {"id": "gen-42"} for e in streamed_events(usage_chunk_has_choice=has_choice)]
    response, _ = await complete(stream_response(events), stream=True)
    assert response == EXPECTED


@pytest.mark.anyio
async def test_streamed_fragments_reach_on_delta_in_arrival_order() -> None:
    seen: list[tuple[DeltaKind, str]] = []
    await complete(stream_response(streamed_events()), stream=True, on_delta=lambda k, s: seen.append((k, s)))
    assert seen == [("reasoning", p) for p in fragments(REASONING)] + [("text", p) for p in fragments(TEXT)]


@pytest.mark.anyio
async def test_whole_responses_do_not_call_on_delta() -> None:
    seen: list[tuple[DeltaKind, str]] = []
    await complete(httpx.Response(200, json=WHOLE), stream=False, on_delta=lambda k, s: seen.append((k, s)))
    assert seen == []


@pytest.mark.anyio
async def test_parallel_tool_calls_are_accumulated_by_index_when_their_fragments_interleave() -> None:
    a, b = args_chunks(0, PARIS), args_chunks(1, OSLO)
    interleaved = [x for pair in zip(a, b, strict=False) for x in pair] + a[len(b) :] + b[len(a) :]
    events = [
        first_call_delta(0, "call_p", "weather__get"),
        first_call_delta(1, "call_o", "weather__get"),
        *interleaved,
        chunk(finish="tool_calls"),
    ]
    response, _ = await complete(stream_response(events), stream=True)
    assert response.message.tool_calls == EXPECTED.message.tool_calls


@pytest.mark.anyio
async def test_tool_call_deltas_without_index_continue_the_last_call() -> None:
    events = [
        first_call_delta(None, "call_p", "weather__get"),
        *args_chunks(None, PARIS),
        first_call_delta(None, "call_o", "weather__get"),
        *args_chunks(None, OSLO),
        chunk({"tool_calls": [{"function": {"name": "clock__now", "arguments": "{}"}}]}),
        chunk(finish="tool_calls"),
    ]
    response, _ = await complete(stream_response(events), stream=True)
    calls = response.message.tool_calls
    assert [(c.name, c.arguments) for c in calls] == [
        ("weather__get", PARIS),
        ("weather__get", OSLO),
        ("clock__now", "{}"),
    ]
    assert [c.id for c in calls[:2]] == ["call_p", "call_o"]
    assert re.fullmatch(r"[A-Za-z0-9]{9}", calls[2].id)


MISSING = object()
ARGUMENT_CASES = [
    ("missing", MISSING, "{}"),
    ("null", None, "{}"),
    ("empty string", "", "{}"),
    ("whitespace", "  ", "{}"),
    ("null text", "null", "{}"),
    ("empty array text", "[]", "{}"),
    ("an object", {"city": "Paris", "n": 1}, '{"city":"Paris","n":1}'),
    ("an empty array", [], "{}"),
    ("json text is kept verbatim", '{ "city" : "Paris" }', '{ "city" : "Paris" }'),
]


def call_entry(arguments: Any, **extra: Any) -> dict[str, Any]:
    function: dict[str, Any] = {"name": "weather__get"}
    if arguments is not MISSING:
        function["arguments"] = arguments
    return {"id": "call_1", "type": "function", "function": function} | extra


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(
    ("arguments", "expected"), [c[1:] for c in ARGUMENT_CASES], ids=[c[0] for c in ARGUMENT_CASES]
)
async def test_arguments_missing_null_empty_or_given_as_objects_become_json_text(
    stream: bool, arguments: Any, expected: str
) -> None:
    if stream:
        events = [chunk({"tool_calls": [call_entry(arguments, index=0)]}), chunk(finish="tool_calls")]
        response, _ = await complete(stream_response(events), stream=True)
    else:
        message = {"content": None, "tool_calls": [call_entry(arguments)]}
        body = {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}
        response, _ = await complete(httpx.Response(200, json=body), stream=False)
    assert response.message.tool_calls == [ToolCall(id="call_1", name="weather__get", arguments=expected)]


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_missing_empty_and_duplicate_call_ids_are_replaced_by_unique_generated_ids(
    stream: bool,
) -> None:
    ids: list[str | None] = [None, "", "dup", "dup", "call_ok"]
    entries = []
    for n, call_id in enumerate(ids):
        entry: dict[str, Any] = {
            "index": n,
            "type": "function",
            "function": {"name": f"t{n}", "arguments": "{}"},
        }
        if call_id is not None:
            entry["id"] = call_id
        entries.append(entry)
    if stream:
        events = [chunk({"tool_calls": [e]}) for e in entries] + [chunk(finish="tool_calls")]
        response, _ = await complete(stream_response(events), stream=True)
    else:
        body = {"choices": [{"message": {"tool_calls": entries}, "finish_reason": "tool_calls"}]}
        response, _ = await complete(httpx.Response(200, json=body), stream=False)
    got = [c.id for c in response.message.tool_calls]
    assert [c.name for c in response.message.tool_calls] == ["t0", "t1", "t2", "t3", "t4"]
    assert (got[2], got[4]) == ("dup", "call_ok")
    assert all(re.fullmatch(r"[A-Za-z0-9]{9}", got[i]) for i in (0, 1, 3))
    assert len(set(got)) == 5


@pytest.mark.anyio
async def test_a_length_finish_is_reported_with_the_text_received() -> None:
    events = [chunk({"content": "cut o"}), chunk({"content": "ff"}, finish="length", native="max_tokens")]
    response, _ = await complete(stream_response(events), stream=True)
    assert response == ModelResponse(
        message=AssistantMessage(content="cut off"),
        finish_reason="length",
        native_finish_reason="max_tokens",
        model=MODEL,
        id="gen-1",
    )


@pytest.mark.anyio
async def test_a_stream_that_ends_after_its_finish_reason_without_done_still_completes() -> None:
    events = [chunk({"content": "hi"}), chunk(finish="stop")]
    response, _ = await complete(stream_response(events, done=False), stream=True)
    assert (response.message.content, response.finish_reason) == ("hi", "stop")


@pytest.mark.anyio
async def test_a_stream_request_answered_with_plain_json_is_processed_as_a_whole_body() -> None:
    seen: list[tuple[DeltaKind, str]] = []
    response, _ = await complete(
        httpx.Response(200, json=WHOLE), stream=True, on_delta=lambda k, s: seen.append((k, s))
    )
    assert response == EXPECTED
    assert seen == [("reasoning", REASONING), ("text", TEXT)]


@pytest.mark.anyio
async def test_content_parts_are_joined_and_missing_fields_fall_back_to_the_request() -> None:
    body = {
        "choices": [
            {
                "message": {"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                "finish_reason": None,
            }
        ]
    }
    response, _ = await complete(
        httpx.Response(200, json=body, headers={"X-Generation-Id": "gen-h"}), stream=False
    )
    assert response == ModelResponse(message=AssistantMessage(content="ab"), model=MODEL, id="gen-h")


@pytest.mark.anyio
async def test_reasoning_only_in_details_still_fills_the_reasoning_text() -> None:
    summary = {
        "type": "reasoning.summary",
        "summary": "Plan: answer.",
        "format": "openai-responses-v1",
        "index": 0,
    }
    body = {
        "choices": [{"message": {"content": "ok", "reasoning_details": [summary]}, "finish_reason": "stop"}]
    }
    response, _ = await complete(httpx.Response(200, json=body), stream=False)
    assert response.message == AssistantMessage(
        content="ok", reasoning="Plan: answer.", reasoning_details=[summary]
    )
