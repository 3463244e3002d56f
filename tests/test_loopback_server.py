"""The loopback OpenRouter server, driven over real HTTP on 127.0.0.1 with plain httpx."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.loopback import (
    ScriptedOpenRouter,
    UsageReport,
    call,
    catalog_model,
    delayed,
    drop,
    error,
    error_chunk,
    last_tool_result,
    raw_error,
    reply,
    stall,
)
from tests.loopback.wire import CREATED

USER = {"role": "user", "content": "hi"}
TOOL = {
    "type": "function",
    "function": {"name": "fs_read", "parameters": {"type": "object", "properties": {}}},
}


def chat(model: str = "openai/gpt-4o", *, stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [USER], "stream": stream, **extra}


def events(raw: bytes) -> list[str]:
    """SSE events of a body, one string per blank-line separated block."""
    return [block for block in raw.decode().split("\n\n") if block]


def data(raw: bytes) -> list[dict[str, Any]]:
    """The JSON ``data:`` chunks of a body (comments and ``[DONE]`` left out)."""
    return [json.loads(e.removeprefix("data: ")) for e in events(raw) if e.startswith("data: {")]


def deltas(raw: bytes) -> list[dict[str, Any]]:
    return [c["choices"][0]["delta"] for c in data(raw) if c["choices"] and "delta" in c["choices"][0]]


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as http:
        yield http


def post(client: httpx.Client, server: ScriptedOpenRouter, body: Any) -> httpx.Response:
    return client.post(f"{server.base_url}/chat/completions", json=body)


# -- streaming ----------------------------------------------------------------------------------


def test_streamed_reply_starts_with_processing_comment_and_ends_with_done(client: httpx.Client) -> None:
    with ScriptedOpenRouter(reply("Hello there")) as server:
        response = post(client, server, chat(stream=True))

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["x-generation-id"] == "gen-loopback-1"
    blocks = events(response.content)
    assert blocks[0] == ": OPENROUTER PROCESSING"
    assert blocks[-1] == "data: [DONE]"
    assert all(b.startswith("data: ") for b in blocks[1:])
    server.assert_clean()


def test_streamed_text_arrives_in_small_pieces_with_role_first_then_finish_and_usage(
    client: httpx.Client,
) -> None:
    usage = UsageReport(prompt_tokens=12, completion_tokens=4, cost=0.0025)
    with ScriptedOpenRouter(reply("Hello there", usage=usage, provider="Anthropic")) as server:
        chunks = data(post(client, server, chat(stream=True)).content)

    assert {(c["id"], c["object"], c["created"], c["model"]) for c in chunks} == {
        ("gen-loopback-1", "chat.completion.chunk", CREATED, "openai/gpt-4o")
    }
    content = [c["choices"][0]["delta"] for c in chunks[:-2]]
    assert content == [
        {"role": "assistant", "content": "Hel"},
        {"content": "lo "},
        {"content": "the"},
        {"content": "re"},
    ]
    assert all("provider" not in c for c in chunks[:-2])
    assert chunks[-2]["provider"] == "Anthropic"
    assert chunks[-2]["choices"] == [
        {"index": 0, "delta": {}, "finish_reason": "stop", "native_finish_reason": "stop", "logprobs": None}
    ]
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["provider"] == "Anthropic"
    assert chunks[-1]["usage"] == usage.to_wire()
    assert chunks[-1]["usage"]["cost"] == 0.0025


def test_streamed_tool_call_sends_a_header_delta_then_argument_fragments_of_one_to_three_characters(
    client: httpx.Client,
) -> None:
    arguments = {"path": "notes/today.txt", "limit": 20}
    step = reply(None, call("fs_read", arguments), native_finish_reason="tool_use")
    with ScriptedOpenRouter(step) as server:
        body = post(client, server, chat(stream=True, tools=[TOOL])).content

    found = deltas(body)
    assert found[0] == {
        "role": "assistant",
        "tool_calls": [
            {"index": 0, "id": "call_1", "type": "function", "function": {"name": "fs_read", "arguments": ""}}
        ],
    }
    fragments = [d["tool_calls"][0] for d in found[1:] if d]
    assert all(set(f) == {"index", "function"} and f["index"] == 0 for f in fragments)
    assert {len(f["function"]["arguments"]) for f in fragments} == {1, 2, 3}
    assert json.loads("".join(f["function"]["arguments"] for f in fragments)) == arguments
    finish = next(c["choices"][0] for c in data(body) if c["choices"] and c["choices"][0]["finish_reason"])
    assert (finish["finish_reason"], finish["native_finish_reason"]) == ("tool_calls", "tool_use")


def test_parallel_tool_calls_stream_under_their_own_indexes_after_the_text(client: httpx.Client) -> None:
    step = reply("Let me look.", call("fs_read", {"p": 1}), call("fs_list", {}, id="mine"), piece_size=20)
    with ScriptedOpenRouter(step) as server:
        found = deltas(post(client, server, chat(stream=True, tools=[TOOL])).content)

    headers = [d["tool_calls"][0] for d in found if "tool_calls" in d and "id" in d["tool_calls"][0]]
    assert found[0] == {"role": "assistant", "content": "Let me look."}
    assert headers == [
        {"index": 0, "id": "call_1", "type": "function", "function": {"name": "fs_read", "arguments": ""}},
        {"index": 1, "id": "mine", "type": "function", "function": {"name": "fs_list", "arguments": ""}},
    ]
    by_index = {0: "", 1: ""}
    for d in found:
        for part in d.get("tool_calls", []):
            by_index[part["index"]] += part["function"]["arguments"]
    assert by_index == {0: '{"p": 1}', 1: "{}"}


def test_whole_tool_calls_arrive_in_one_delta_and_raw_arguments_are_sent_verbatim(
    client: httpx.Client,
) -> None:
    step = reply(None, call("fs_read", '{"path": "a'), call("fs_list", ""), whole_tool_calls=True)
    with ScriptedOpenRouter(step) as server:
        found = deltas(post(client, server, chat(stream=True, tools=[TOOL])).content)

    assert found[:2] == [
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "fs_read", "arguments": '{"path": "a'},
                }
            ],
        },
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "fs_list", "arguments": ""},
                }
            ]
        },
    ]


def test_reasoning_streams_in_pieces_before_the_content(client: httpx.Client) -> None:
    with ScriptedOpenRouter(reply("ok", reasoning="Hmm, yes", piece_size=5)) as server:
        found = deltas(post(client, server, chat(stream=True)).content)

    assert found[:-1] == [
        {"role": "assistant", "reasoning": "Hmm, "},
        {"reasoning": "yes"},
        {"content": "ok"},
    ]


def test_reasoning_details_stream_whole_with_their_text_as_reasoning_and_come_back_non_streamed(
    client: httpx.Client,
) -> None:
    thought = {
        "type": "reasoning.text",
        "text": "think",
        "signature": "sig",
        "format": "anthropic-claude-v1",
        "index": 0,
    }
    secret = {"type": "reasoning.encrypted", "data": "b64==", "format": "anthropic-claude-v1", "index": 1}
    step = reply(None, call("fs_read"), reasoning_details=[thought, secret])
    with ScriptedOpenRouter(step, step) as server:
        found = deltas(post(client, server, chat(stream=True, tools=[TOOL])).content)
        message = post(client, server, chat(tools=[TOOL])).json()["choices"][0]["message"]

    assert found[:2] == [
        {"role": "assistant", "reasoning": "think", "reasoning_details": [thought]},
        {"reasoning_details": [secret]},
    ]
    assert (message["reasoning"], message["reasoning_details"]) == ("think", [thought, secret])


def test_usage_chunk_can_repeat_the_finish_choice_and_comments_can_come_between_chunks(
    client: httpx.Client,
) -> None:
    with ScriptedOpenRouter(reply("abc", usage_chunk_with_choice=True, keepalives=True)) as server:
        body = post(client, server, chat(stream=True)).content

    blocks = events(body)
    assert len(blocks) == 7  # role+content, finish and usage chunks, each after a comment; then [DONE]
    assert blocks[0:-1:2] == [": OPENROUTER PROCESSING"] * 3
    assert all(b.startswith("data: {") for b in blocks[1:-1:2])
    usage_chunk = data(body)[-1]
    assert usage_chunk["choices"] == [
        {"index": 0, "delta": {}, "finish_reason": "stop", "native_finish_reason": "stop", "logprobs": None}
    ]
    assert "usage" in usage_chunk


def test_close_framed_stream_delivers_the_same_events_as_a_chunked_one(client: httpx.Client) -> None:
    with ScriptedOpenRouter(reply("same", framing="close"), reply("same")) as server:
        closed = post(client, server, chat(stream=True))
        chunked = post(client, server, chat(stream=True))

    assert closed.headers["connection"] == "close"
    assert "content-length" not in closed.headers
    assert chunked.headers["transfer-encoding"] == "chunked"
    strip_ids = [{**c, "id": None} for c in data(closed.content)]
    assert strip_ids == [{**c, "id": None} for c in data(chunked.content)]


# -- non-streamed -------------------------------------------------------------------------------


def test_non_streamed_reply_has_the_chat_completion_shape(client: httpx.Client) -> None:
    usage = UsageReport(prompt_tokens=12, completion_tokens=3, cost=0.0002)
    with ScriptedOpenRouter(reply("Hello", usage=usage, model="anthropic/claude-sonnet-4.5")) as server:
        response = post(client, server, chat())

    assert response.headers["x-generation-id"] == "gen-loopback-1"
    assert response.json() == {
        "id": "gen-loopback-1",
        "object": "chat.completion",
        "created": CREATED,
        "model": "anthropic/claude-sonnet-4.5",
        "provider": "Loopback",
        "system_fingerprint": None,
        "choices": [
            {
                "index": 0,
                "logprobs": None,
                "finish_reason": "stop",
                "native_finish_reason": "stop",
                "message": {"role": "assistant", "content": "Hello", "refusal": None},
            }
        ],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 3,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
            "cost": 0.0002,
            "is_byok": False,
            "cost_details": {
                "upstream_inference_cost": None,
                "upstream_inference_prompt_cost": 0,
                "upstream_inference_completions_cost": 0,
            },
        },
    }


def test_non_streamed_tool_calls_can_lack_ids_or_share_them_and_content_is_null(client: httpx.Client) -> None:
    calls = [call("a", {"x": 1}, omit_id=True), call("b", id="dup"), call("c", id="dup"), call("d", None)]
    with ScriptedOpenRouter(reply(None, *calls, usage=None, reasoning="why")) as server:
        body = post(client, server, chat(tools=[TOOL])).json()

    assert "usage" not in body
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["choices"][0]["message"] == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "reasoning": "why",
        "tool_calls": [
            {"type": "function", "function": {"name": "a", "arguments": '{"x": 1}'}},
            {"id": "dup", "type": "function", "function": {"name": "b", "arguments": "{}"}},
            {"id": "dup", "type": "function", "function": {"name": "c", "arguments": "{}"}},
            {"id": "call_1", "type": "function", "function": {"name": "d", "arguments": "{}"}},
        ],
    }


def test_finish_reason_can_be_overridden_to_contradict_the_tool_calls(client: httpx.Client) -> None:
    with ScriptedOpenRouter(
        reply(None, call("a"), finish_reason="stop", native_finish_reason="STOP")
    ) as server:
        choice = post(client, server, chat(tools=[TOOL])).json()["choices"][0]

    assert (choice["finish_reason"], choice["native_finish_reason"]) == ("stop", "STOP")
    assert [c["function"]["name"] for c in choice["message"]["tool_calls"]] == ["a"]


# -- errors and faults --------------------------------------------------------------------------


def test_error_step_answers_with_its_status_openrouter_body_and_retry_after(client: httpx.Client) -> None:
    step = error(429, "Rate limit exceeded", metadata={"error_type": "rate_limit_exceeded"}, retry_after=7)
    with ScriptedOpenRouter(step) as server:
        response = post(client, server, chat(stream=True))

    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": 429,
            "message": "Rate limit exceeded",
            "metadata": {"error_type": "rate_limit_exceeded"},
        }
    }
    server.assert_clean()


@pytest.mark.parametrize(
    ("step", "status", "content_type", "text"),
    [
        (raw_error(502, "<html>Bad Gateway</html>"), 502, "text/html", "<html>Bad Gateway</html>"),
        (raw_error(200, "not json", content_type="text/plain"), 200, "text/plain", "not json"),
        (
            error(200, "flagged", code=502),
            200,
            "application/json",
            '{"error": {"code": 502, "message": "flagged"}}',
        ),
    ],
)
def test_error_bodies_can_be_non_json_or_an_error_envelope_with_status_200(
    client: httpx.Client, step: Any, status: int, content_type: str, text: str
) -> None:
    with ScriptedOpenRouter(step) as server:
        response = post(client, server, chat())

    assert (response.status_code, response.headers["content-type"], response.text) == (
        status,
        content_type,
        text,
    )


def test_mid_stream_error_chunk_follows_partial_content_and_the_stream_ends_without_done(
    client: httpx.Client,
) -> None:
    fault = error_chunk(
        reply("Partial answer"), code=429, message="Rate limit exceeded", error_type="rate_limit_exceeded"
    )
    with ScriptedOpenRouter(fault) as server:
        response = post(client, server, chat(stream=True))

    chunks = data(response.content)
    assert response.status_code == 200
    assert "[DONE]" not in response.text
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "Partial answer"
    assert chunks[-1] == {
        "id": "gen-loopback-1",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": "openai/gpt-4o",
        "provider": "Loopback",
        "error": {
            "code": 429,
            "message": "Rate limit exceeded",
            "metadata": {"error_type": "rate_limit_exceeded"},
        },
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    assert all(
        "finish_reason" not in c["choices"][0] or c["choices"][0]["finish_reason"] is None
        for c in chunks[:-1]
    )


def test_error_fault_on_a_non_streamed_request_is_a_200_with_error_finish(client: httpx.Client) -> None:
    with ScriptedOpenRouter(error_chunk(reply("half"), code=502, message="Provider disconnected")) as server:
        choice = post(client, server, chat()).json()["choices"][0]

    assert choice["finish_reason"] == "error"
    assert choice["message"]["content"] == "half"
    assert choice["error"] == {
        "code": 502,
        "message": "Provider disconnected",
        "metadata": {"error_type": "provider_unavailable"},
    }


def test_dropped_chunked_stream_delivers_the_first_chunks_then_fails_as_an_incomplete_body(
    client: httpx.Client,
) -> None:
    received: list[str] = []
    with ScriptedOpenRouter(drop(reply("abcdefghi"), after_chunks=2)) as server:
        with (
            pytest.raises(httpx.RemoteProtocolError),
            client.stream("POST", f"{server.base_url}/chat/completions", json=chat(stream=True)) as response,
        ):
            received.extend(response.iter_lines())
        server.assert_clean()

    assert [
        json.loads(line[6:])["choices"][0]["delta"] for line in received if line.startswith("data: ")
    ] == [
        {"role": "assistant", "content": "abc"},
        {"content": "def"},
    ]


def test_dropped_close_framed_stream_just_ends_without_finish_or_done(client: httpx.Client) -> None:
    with ScriptedOpenRouter(drop(reply("abcdef", framing="close"))) as server:
        response = post(client, server, chat(stream=True))

    assert "[DONE]" not in response.text
    assert [c["choices"][0] for c in data(response.content)] == [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": "abc"},
            "finish_reason": None,
            "native_finish_reason": None,
            "logprobs": None,
        },
        {
            "index": 0,
            "delta": {"content": "def"},
            "finish_reason": None,
            "native_finish_reason": None,
            "logprobs": None,
        },
    ]


def test_dropped_non_streamed_request_gets_no_response_and_the_next_step_still_answers(
    client: httpx.Client,
) -> None:
    with ScriptedOpenRouter(drop(), reply("second")) as server:
        with pytest.raises(httpx.RemoteProtocolError):
            post(client, server, chat())
        answer = post(client, server, chat()).json()

    assert answer["choices"][0]["message"]["content"] == "second"
    server.assert_clean()


def test_stalled_stream_goes_silent_so_a_read_timeout_fires(client: httpx.Client) -> None:
    received: list[str] = []
    with ScriptedOpenRouter(stall(60, reply("abcdef"), after_chunks=1)) as server:
        url = f"{server.base_url}/chat/completions"
        with (
            pytest.raises(httpx.ReadTimeout),
            client.stream(
                "POST", url, json=chat(stream=True), timeout=httpx.Timeout(5, read=0.3)
            ) as response,
        ):
            received.extend(response.iter_lines())

    assert [
        json.loads(line[6:])["choices"][0]["delta"] for line in received if line.startswith("data: ")
    ] == [{"role": "assistant", "content": "abc"}]


def test_delayed_step_lets_the_client_time_out_and_the_next_request_takes_the_next_step(
    client: httpx.Client,
) -> None:
    with ScriptedOpenRouter(delayed(60, reply("too late")), reply("in time")) as server:
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                f"{server.base_url}/chat/completions", json=chat(), timeout=httpx.Timeout(5, read=0.3)
            )
        answer = post(client, server, chat()).json()

    assert answer["choices"][0]["message"]["content"] == "in time"
    server.assert_clean()


# -- script ---------------------------------------------------------------------------------------


def test_function_step_sees_the_request_and_can_quote_the_last_tool_result(client: httpx.Client) -> None:
    with ScriptedOpenRouter(
        reply(None, call("fs_read", {"path": "a.txt"}, id="c1")),
        lambda request: reply(f"The file says: {last_tool_result(request)}"),
    ) as server:
        first = post(client, server, chat(tools=[TOOL])).json()["choices"][0]["message"]
        history = [USER, {k: first[k] for k in ("role", "content", "tool_calls")}]
        history.append({"role": "tool", "tool_call_id": "c1", "content": "42 apples"})
        second = post(client, server, {**chat(tools=[TOOL]), "messages": history}).json()

    assert second["choices"][0]["message"]["content"] == "The file says: 42 apples"
    server.assert_clean()


def test_model_with_its_own_queue_uses_it_and_other_models_use_the_default_queue(
    client: httpx.Client,
) -> None:
    with ScriptedOpenRouter(reply("default"), models={"m/special": [reply("special")]}) as server:
        special = post(client, server, chat("m/special")).json()
        other = post(client, server, chat("m/other")).json()
        exhausted = post(client, server, chat("m/special"))

    assert special["choices"][0]["message"]["content"] == "special"
    assert other["choices"][0]["message"]["content"] == "default"
    assert exhausted.status_code == 500
    assert server.failures == ["request #2: script exhausted: no step left for model 'm/special'"]


def test_exhausted_script_answers_500_with_a_clear_message_and_fails_assert_clean(
    client: httpx.Client,
) -> None:
    with ScriptedOpenRouter() as server:
        response = post(client, server, chat())

    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": 500,
            "message": "loopback script exhausted: no step left for model 'openai/gpt-4o' (request #0)",
        }
    }
    with pytest.raises(AssertionError, match="script exhausted"):
        server.assert_clean()


def test_unconsumed_steps_fail_assert_clean(client: httpx.Client) -> None:
    with ScriptedOpenRouter(reply("a"), reply("b"), models={"m/x": [reply("c")]}) as server:
        post(client, server, chat())

    assert server.remaining() == {None: 1, "m/x": 1}
    with pytest.raises(AssertionError, match=r"unconsumed: 1 step\(s\) for any model"):
        server.assert_clean()


def test_unknown_path_answers_404_and_is_recorded_as_unexpected(client: httpx.Client) -> None:
    with ScriptedOpenRouter() as server:
        response = client.post(f"{server.base_url}/completions", json={})
        no_prefix = client.post(server.base_url.removesuffix("/api/v1") + "/chat/completions", json=chat())

    assert (response.status_code, no_prefix.status_code) == (404, 404)
    assert server.failures == [
        "request #0: unexpected POST /api/v1/completions",
        "request #1: unexpected POST /chat/completions",
    ]


# -- history checks -------------------------------------------------------------------------------


def test_history_violation_is_rejected_with_400_recorded_and_consumes_no_step(client: httpx.Client) -> None:
    orphan = {**chat(), "messages": [USER, {"role": "tool", "tool_call_id": "x", "content": "r"}]}
    with ScriptedOpenRouter(reply("fine")) as server:
        rejected = post(client, server, orphan)
        accepted = post(client, server, chat())

    message = (
        "messages[1]: a 'tool' message (tool_call_id 'x') must respond to a preceding assistant message "
        "with 'tool_calls'"
    )
    assert rejected.status_code == 400
    assert rejected.json() == {
        "error": {
            "code": 400,
            "message": "Provider returned error",
            "metadata": {"raw": message, "provider_name": "Loopback"},
        }
    }
    assert accepted.status_code == 200
    assert [(v.request_index, v.message) for v in server.violations] == [(0, message)]
    with pytest.raises(AssertionError, match="request #0: messages"):
        server.assert_clean()


def test_dropping_tools_on_a_later_turn_of_the_conversation_is_rejected(client: httpx.Client) -> None:
    with ScriptedOpenRouter(reply(None, call("fs_read", id="c1")), reply("done")) as server:
        post(client, server, chat(tools=[TOOL]))
        history = [
            USER,
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "fs_read", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "r"},
        ]
        without_tools = post(client, server, {**chat(), "messages": history})
        with_tools = post(client, server, {**chat(tools=[TOOL]), "messages": history})

    assert without_tools.status_code == 400
    assert [v.message for v in server.violations] == [
        "tools: request #0 of this conversation sent 'tools' but this one does not; send them on every turn"
    ]
    assert with_tools.json()["choices"][0]["message"]["content"] == "done"


def test_history_checks_can_be_switched_off(client: httpx.Client) -> None:
    orphan = {**chat(), "messages": [{"role": "tool", "tool_call_id": "x", "content": "r"}]}
    with ScriptedOpenRouter(reply("lenient"), strict_history=False) as server:
        response = post(client, server, orphan)

    assert response.json()["choices"][0]["message"]["content"] == "lenient"
    server.assert_clean()


# -- other endpoints, auth, records ---------------------------------------------------------------


def test_models_endpoint_serves_the_catalog_filtered_by_supported_parameters(client: httpx.Client) -> None:
    catalog = [catalog_model("a/tools"), catalog_model("b/plain", supported_parameters=["max_tokens"])]
    with ScriptedOpenRouter(catalog=catalog) as server:
        everything = client.get(f"{server.base_url}/models").json()
        with_tools = client.get(f"{server.base_url}/models", params={"supported_parameters": "tools"}).json()

    assert everything == {"data": catalog}
    assert [m["id"] for m in with_tools["data"]] == ["a/tools"]
    server.assert_clean()


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "No cookie auth credentials found"),
        ({"Authorization": "Bearer"}, 401, "No cookie auth credentials found"),
        ({"Authorization": "Bearer sk-or-v1-wrong"}, 401, "User not found."),
        ({"Authorization": "Bearer sk-or-v1-right"}, 200, None),
    ],
)
def test_api_key_when_configured_is_checked_like_openrouter(
    client: httpx.Client, headers: dict[str, str], status: int, message: str | None
) -> None:
    with ScriptedOpenRouter(reply("ok"), api_key="sk-or-v1-right") as server:
        response = client.post(f"{server.base_url}/chat/completions", json=chat(), headers=headers)

    assert response.status_code == status
    if message is not None:
        assert response.json() == {"error": {"code": 401, "message": message}}


def test_requests_are_recorded_with_headers_and_json_and_repr_hides_the_key(client: httpx.Client) -> None:
    with ScriptedOpenRouter(reply("a"), reply("b")) as server:
        for _ in range(2):
            post_headers = {"Authorization": "Bearer sk-or-v1-secret", "X-Title": "agent"}
            client.post(f"{server.base_url}/chat/completions", json=chat(), headers=post_headers)

    first, second = server.requests
    assert (first.method, first.path, first.body) == ("POST", "/api/v1/chat/completions", chat())
    assert first.headers["authorization"] == "Bearer sk-or-v1-secret"
    assert first.headers["x-title"] == "agent"
    assert "sk-or-v1-secret" not in repr(server.requests)
    assert first.client_port == second.client_port  # one kept-alive connection served both
    assert server.chat_bodies == [chat(), chat()]


def test_wait_for_requests_returns_once_they_arrived_and_fails_on_timeout(client: httpx.Client) -> None:
    with ScriptedOpenRouter(reply("a")) as server:
        post(client, server, chat())
        server.wait_for_requests(1)
        with pytest.raises(AssertionError, match="expected 2 request"):
            server.wait_for_requests(2, timeout=0.05)


def test_closing_wakes_delayed_answers_and_ends_every_connection_thread(client: httpx.Client) -> None:
    def handler_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == f"loopback-openrouter:{port}"]

    with ScriptedOpenRouter(reply("kept alive"), delayed(600, reply("never"))) as server:
        port = int(server.base_url.split(":")[2].split("/")[0])
        post(client, server, chat())  # leaves an idle kept-alive connection open
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                f"{server.base_url}/chat/completions", json=chat(), timeout=httpx.Timeout(5, read=0.2)
            )
        server.wait_for_requests(2)
        assert handler_threads()

    assert handler_threads() == []
