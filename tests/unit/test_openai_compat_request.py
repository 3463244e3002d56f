from __future__ import annotations

import json

import httpx
import pytest

from agent.errors import ConfigError
from agent.messages import (
    AssistantMessage,
    AudioPart,
    ImagePart,
    Message,
    RequestSettings,
    SystemMessage,
    ToolCall,
    ToolMessage,
    ToolSpec,
    UserMessage,
)
from agent.providers import OpenAICompatibleModel, create_http_client
from agent.providers.openai_compat import APP_URL
from tests.loopback.history import check_request
from tests.unit.test_openai_compat_support import KEY, MODEL, chunk, complete, stream_response


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


REASONING_DETAILS = [
    {
        "type": "reasoning.text",
        "text": "Look it up.",
        "signature": "sig-1",
        "format": "anthropic-claude-v1",
        "index": 0,
    },
    {"type": "reasoning.encrypted", "data": "b64==", "format": "anthropic-claude-v1", "index": 1},
]
CONVERSATION: list[Message] = [
    SystemMessage(content="Be brief."),
    UserMessage(content="Weather in Paris and Oslo?"),
    AssistantMessage(
        content=None,
        tool_calls=[
            ToolCall(id="call_a", name="weather__get", arguments='{"city": "Paris"}'),
            ToolCall(id="call_b", name="weather__get", arguments='{"city":"Oslo"}'),
        ],
        reasoning="Look it up.",
        reasoning_details=REASONING_DETAILS,
    ),
    ToolMessage(tool_call_id="call_a", name="weather__get", content="18C"),
    ToolMessage(tool_call_id="call_b", name="weather__get", content="unknown city", is_error=True),
    AssistantMessage(content="Paris is 18C."),
    UserMessage(content="Thanks"),
]
TOOLS = [
    ToolSpec(
        name="weather__get",
        description="Current weather",
        parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    ),
    ToolSpec(name="clock__now"),
]
EXPECTED_MESSAGES = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Paris and Oslo?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_a",
                "type": "function",
                "function": {"name": "weather__get", "arguments": '{"city": "Paris"}'},
            },
            {
                "id": "call_b",
                "type": "function",
                "function": {"name": "weather__get", "arguments": '{"city":"Oslo"}'},
            },
        ],
        "reasoning_details": REASONING_DETAILS,
    },
    {"role": "tool", "tool_call_id": "call_a", "content": "18C", "name": "weather__get"},
    {"role": "tool", "tool_call_id": "call_b", "content": "unknown city", "name": "weather__get"},
    {"role": "assistant", "content": "Paris is 18C."},
    {"role": "user", "content": "Thanks"},
]
EXPECTED_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather__get",
            "description": "Current weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {"name": "clock__now", "parameters": {"type": "object", "properties": {}}},
    },
]
OK_BODY = {
    "id": "gen-1",
    "model": MODEL,
    "choices": [{"index": 0, "message": {"content": "ok"}, "finish_reason": "stop"}],
}


def sent(request: httpx.Request) -> object:
    return json.loads(request.content)


@pytest.mark.anyio
async def test_request_carries_history_tools_settings_and_reasoning_details_verbatim() -> None:
    settings = RequestSettings(
        tool_choice="required", parallel_tool_calls=False, max_tokens=512, temperature=0.2
    )
    _, request = await complete(
        httpx.Response(200, json=OK_BODY), stream=False, messages=CONVERSATION, tools=TOOLS, settings=settings
    )
    assert sent(request) == {
        "model": MODEL,
        "messages": EXPECTED_MESSAGES,
        "tools": EXPECTED_TOOLS,
        "tool_choice": "required",
        "parallel_tool_calls": False,
        "max_tokens": 512,
        "temperature": 0.2,
        "usage": {"include": True},
        "provider": {"require_parameters": True},
    }
    assert (request.method, str(request.url)) == ("POST", "https://openrouter.test/api/v1/chat/completions")
    headers = {
        k: request.headers[k] for k in request.headers if k not in ("content-length", "accept-encoding")
    }
    assert headers == {
        "host": "openrouter.test",
        "accept": "*/*",
        "connection": "keep-alive",
        "user-agent": "agent/0.1.0",
        "content-type": "application/json",
        "http-referer": APP_URL,
        "x-openrouter-title": "agent",
        "x-title": "agent",
        "authorization": f"Bearer {KEY}",
    }


@pytest.mark.anyio
async def test_streamed_request_asks_for_a_stream_with_usage() -> None:
    events = [chunk({"content": "ok"}, finish="stop")]
    _, request = await complete(stream_response(events), stream=True, tools=TOOLS[1:])
    assert sent(request) == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": EXPECTED_TOOLS[1:],
        "stream": True,
        "stream_options": {"include_usage": True},
        "usage": {"include": True},
        "provider": {"require_parameters": True},
    }


@pytest.mark.anyio
async def test_request_without_tools_sends_no_tool_fields_even_when_settings_name_them() -> None:
    settings = RequestSettings(tool_choice="auto", parallel_tool_calls=True)
    _, request = await complete(httpx.Response(200, json=OK_BODY), stream=False, settings=settings)
    assert sent(request) == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "hi"}],
        "usage": {"include": True},
    }


@pytest.mark.anyio
async def test_other_providers_get_no_usage_flag_no_auth_without_key_and_extra_headers() -> None:
    _, request = await complete(
        httpx.Response(200, json=OK_BODY),
        stream=False,
        base_url="http://127.0.0.1:9/v1/",
        api_key=None,
        provider_name="local",
        extra_headers={"X-Title": "mine", "X-Extra": "1"},
    )
    assert sent(request) == {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    assert str(request.url) == "http://127.0.0.1:9/v1/chat/completions"
    assert "authorization" not in request.headers
    assert (request.headers["x-title"], request.headers["x-extra"]) == ("mine", "1")


@pytest.mark.anyio
async def test_assistant_messages_without_tool_calls_send_text_and_tool_only_ones_send_null() -> None:
    messages: list[Message] = [
        UserMessage(content="a"),
        AssistantMessage(content="", tool_calls=[ToolCall(id="c1", name="t")]),
        ToolMessage(tool_call_id="c1", name="t", content="r"),
        AssistantMessage(content=None),
    ]
    _, request = await complete(httpx.Response(200, json=OK_BODY), stream=False, messages=messages)
    body = sent(request)
    assert isinstance(body, dict)
    assert body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "t", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "r", "name": "t"},
        {"role": "assistant", "content": ""},
    ]


@pytest.mark.anyio
async def test_repr_names_model_and_endpoint_but_never_the_key() -> None:
    async with create_http_client(5) as client:
        model = OpenAICompatibleModel(client, model=MODEL, base_url="https://x.test/v1", api_key=KEY)
        assert repr(model) == (
            "OpenAICompatibleModel(model='acme/model-1', base_url='https://x.test/v1', "
            "provider_name='openrouter')"
        )
        assert model.model_name == MODEL


@pytest.mark.anyio
async def test_http_client_connects_within_ten_seconds_and_reads_for_the_configured_time() -> None:
    async with create_http_client(300) as client:
        assert client.timeout == httpx.Timeout(300, connect=10.0)
        assert client.headers["user-agent"] == "agent/0.1.0"


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_http_client_rejects_a_timeout_that_is_not_positive(bad: float) -> None:
    with pytest.raises(ConfigError, match="timeout_seconds must be a positive number"):
        create_http_client(bad)


# --- tool results with images and audio ---

IMAGE = ImagePart(data="iVBORw0KGgo=", mime_type="image/png")
JPEG = ImagePart(data="/9j/4AAQ", mime_type="image/jpeg")
CLIP = AudioPart(data="UklGRg==", mime_type="audio/wav")
SVG = ImagePart(data="PHN2Zz4=", mime_type="image/svg+xml")
PNG_URL = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


def asked(*ids: str) -> list[Message]:
    return [
        UserMessage(content="look"),
        AssistantMessage(tool_calls=[ToolCall(id=i, name="snap") for i in ids]),
    ]


ASKED_WIRE = [
    {"role": "user", "content": "look"},
    {"role": "assistant", "content": None, "tool_calls": []},
]


def asked_wire(*ids: str) -> list[dict[str, object]]:
    calls = [{"id": i, "type": "function", "function": {"name": "snap", "arguments": "{}"}} for i in ids]
    return [ASKED_WIRE[0], {**ASKED_WIRE[1], "tool_calls": calls}]


def tool_wire(call_id: str, content: str) -> dict[str, object]:
    return {"role": "tool", "tool_call_id": call_id, "content": content, "name": "snap"}


MEDIA_CASES: list[tuple[str, list[Message], list[dict[str, object]]]] = [
    (
        "an image follows the turn's last tool message in a user message",
        [
            *asked("a", "b"),
            ToolMessage(tool_call_id="a", name="snap", content="[image: image/png, 8 bytes]", media=(IMAGE,)),
            ToolMessage(tool_call_id="b", name="snap", content="no picture"),
        ],
        [
            *asked_wire("a", "b"),
            tool_wire(
                "a",
                "[image: image/png, 8 bytes]\n[1 image of this result is attached to the next user message]",
            ),
            tool_wire("b", "no picture"),
            {
                "role": "user",
                "content": [{"type": "text", "text": "1 image from tool call a (snap):"}, PNG_URL],
            },
        ],
    ),
    (
        "images of two results go in one user message, each labelled with its call",
        [
            *asked("a", "b"),
            ToolMessage(tool_call_id="a", name="snap", content="one", media=(IMAGE,)),
            ToolMessage(tool_call_id="b", name="snap", content="two", media=(JPEG, CLIP)),
        ],
        [
            *asked_wire("a", "b"),
            tool_wire("a", "one\n[1 image of this result is attached to the next user message]"),
            tool_wire(
                "b", "two\n[1 image and 1 audio clip of this result are attached to the next user message]"
            ),
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "1 image from tool call a (snap):"},
                    PNG_URL,
                    {"type": "text", "text": "1 image and 1 audio clip from tool call b (snap):"},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                ],
            },
        ],
    ),
    (
        "media of an earlier turn stays between its tool messages and the answer",
        [
            *asked("a"),
            ToolMessage(tool_call_id="a", name="snap", content="one", media=(IMAGE,)),
            AssistantMessage(content="A cat."),
            UserMessage(content="thanks"),
        ],
        [
            *asked_wire("a"),
            tool_wire("a", "one\n[1 image of this result is attached to the next user message]"),
            {
                "role": "user",
                "content": [{"type": "text", "text": "1 image from tool call a (snap):"}, PNG_URL],
            },
            {"role": "assistant", "content": "A cat."},
            {"role": "user", "content": "thanks"},
        ],
    ),
    (
        "an image type the API does not take is described instead",
        [*asked("a"), ToolMessage(tool_call_id="a", name="snap", content="logo", media=(SVG,))],
        [
            *asked_wire("a"),
            tool_wire("a", "logo\n[1 image of this result is attached to the next user message]"),
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "1 image from tool call a (snap):"},
                    {
                        "type": "text",
                        "text": "[image of type image/svg+xml not sent: the API does not take that type]",
                    },
                ],
            },
        ],
    ),
    (
        "a user message with media sends its text, then the media",
        [UserMessage(content="<tool_response>...</tool_response>", media=(IMAGE,))],
        [
            {
                "role": "user",
                "content": [{"type": "text", "text": "<tool_response>...</tool_response>"}, PNG_URL],
            }
        ],
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("messages", "expected"), [c[1:] for c in MEDIA_CASES], ids=[c[0] for c in MEDIA_CASES]
)
async def test_images_and_audio_of_tool_results_reach_the_model_in_a_valid_conversation(
    messages: list[Message], expected: list[dict[str, object]]
) -> None:
    async with httpx.AsyncClient() as client:
        model = OpenAICompatibleModel(
            client, model=MODEL, base_url="https://openrouter.test/api/v1", api_key=KEY
        )
        body = model.request_body(messages, [], RequestSettings())
    assert body["messages"] == expected
    assert check_request(body) == []
