"""``POST /embeddings``: batches in input order, answers checked, failures as typed provider errors."""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
import respx

from agent.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ConfigError,
    InsufficientCreditsError,
    ModelNotFoundError,
    ProviderConnectionError,
    ResponseLimitError,
)
from agent.messages import Usage
from agent.providers import embeddings as module
from agent.providers.embeddings import Embeddings, embed_texts
from tests.loopback.embeddings import vector_of

pytestmark = pytest.mark.anyio

BASE = "https://openrouter.test/api/v1"
URL = f"{BASE}/embeddings"
KEY = "sk-or-v1-" + "0123456789abcdef" * 4
MODEL = "openai/text-embedding-3-small"


def answer(body: dict[str, Any], *, reverse: bool = False, cost: float | None = 0.001) -> dict[str, Any]:
    """What OpenRouter answers to ``body``: one vector per input (``reverse``: listed backwards)."""
    data = [
        {"object": "embedding", "embedding": vector_of(text, 4), "index": index}
        for index, text in enumerate(body["input"])
    ]
    usage: dict[str, Any] = {"prompt_tokens": len(data) * 2, "total_tokens": len(data) * 2}
    if cost is not None:
        usage["cost"] = cost
    return {"object": "list", "data": data[::-1] if reverse else data, "model": MODEL, "usage": usage}


def answering(make: Callable[[dict[str, Any]], Any] = answer) -> Callable[[httpx.Request], httpx.Response]:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=make(json.loads(request.content)))

    return respond


async def no_sleep(seconds: float) -> None:
    pass


async def embed(texts: list[str], **kwargs: Any) -> Embeddings:
    kwargs.setdefault("sleep", no_sleep)
    async with httpx.AsyncClient() as client:
        return await embed_texts(client, texts, model=MODEL, base_url=BASE, api_key=KEY, **kwargs)


@respx.mock
async def test_texts_go_out_in_batches_and_come_back_in_input_order_with_usage_summed() -> None:
    texts = [f"text {n}" for n in range(5)]
    route = respx.post(URL).mock(side_effect=answering(lambda body: answer(body, reverse=True)))
    result = await embed(texts, batch_size=2, dimensions=4)
    assert result == Embeddings(
        vectors=[vector_of(text, 4) for text in texts],
        model=MODEL,
        usage=Usage(prompt_tokens=10, total_tokens=10, cost=0.003),
        requests=3,
    )
    assert result.dimensions == 4 and result.cost == 0.003
    bodies = sorted((json.loads(call.request.content) for call in route.calls), key=lambda b: b["input"])
    assert bodies == [
        {"model": MODEL, "input": ["text 0", "text 1"], "encoding_format": "float", "dimensions": 4},
        {"model": MODEL, "input": ["text 2", "text 3"], "encoding_format": "float", "dimensions": 4},
        {"model": MODEL, "input": ["text 4"], "encoding_format": "float", "dimensions": 4},
    ]


@respx.mock
async def test_batches_finishing_out_of_order_still_give_input_order() -> None:
    first_may_finish = anyio.Event()

    async def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["input"][0] == "a":
            await first_may_finish.wait()  # the first batch answers last
        else:
            first_may_finish.set()
        return httpx.Response(200, json=answer(body))

    respx.post(URL).mock(side_effect=respond)
    with anyio.fail_after(5):
        result = await embed(["a", "b", "c"], batch_size=1, concurrency=3)
    assert result.vectors == [vector_of(t, 4) for t in "abc"]


@respx.mock
async def test_requests_carry_the_key_and_the_app_headers_of_chat_requests() -> None:
    route = respx.post(URL).mock(side_effect=answering())
    result = await embed(["hello"], extra_headers={"X-Extra": "1"})
    headers = route.calls.last.request.headers
    assert headers["authorization"] == f"Bearer {KEY}"
    assert headers["http-referer"] == "https://github.com/agent-runtime/agent"
    assert headers["x-openrouter-title"] == "agent"
    assert headers["x-extra"] == "1"
    assert "dimensions" not in json.loads(route.calls.last.request.content)
    assert result.requests == 1


@respx.mock
async def test_an_unreported_cost_stays_unknown_and_a_base64_vector_is_decoded() -> None:
    packed = base64.b64encode(struct.pack("<3f", 0.5, -0.25, 1.0)).decode()

    def make(body: dict[str, Any]) -> Any:
        return {"data": [{"embedding": packed}], "usage": {"prompt_tokens": 3, "total_tokens": "many"}}

    respx.post(URL).mock(side_effect=answering(make))
    result = await embed(["x"])
    assert result == Embeddings(
        vectors=[[0.5, -0.25, 1.0]], model=MODEL, usage=Usage(prompt_tokens=3, total_tokens=3), requests=1
    )
    assert result.cost is None


def _entry(vector: Any, index: Any = 0) -> dict[str, Any]:
    return {"object": "embedding", "embedding": vector, "index": index}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>oops</html>", "is not JSON"),
        (b'{"object": "list"}', "has no 'data' list"),
        (b'{"data": []}', "has 0 embeddings for 2 inputs"),
        (json.dumps({"data": [_entry([1.0]), _entry([1.0], 2)]}).encode(), "index 2, outside 0..1"),
        (json.dumps({"data": [_entry([1.0]), _entry([1.0], True)]}).encode(), "index true"),
        (json.dumps({"data": [_entry([1.0]), _entry([2.0])]}).encode(), "two embeddings with index 0"),
        (json.dumps({"data": [_entry([1.0]), _entry(["1"], 1)]}).encode(), "embedding #1 that is not"),
        (json.dumps({"data": [_entry([1.0]), _entry([], 1)]}).encode(), "embedding #1 that is not"),
        (json.dumps({"data": [_entry([1.0]), _entry([True], 1)]}).encode(), "embedding #1 that is not"),
        (json.dumps({"data": [_entry([1.0]), _entry("not base64!", 1)]}).encode(), "embedding #1"),
        (b'{"data": [{"embedding": [1.0], "index": 0}, {"embedding": [NaN], "index": 1}]}', "embedding #1"),
        (
            json.dumps({"data": [_entry([1.0]), _entry([1.0, 2.0], 1)]}).encode(),
            "different lengths (1 and 2)",
        ),
        (json.dumps({"data": [_entry([1.0]), "x"]}).encode(), "entry #1 that is not an object"),
    ],
)
@respx.mock
async def test_an_answer_that_is_not_one_finite_vector_per_input_is_a_bad_response(
    content: bytes, message: str
) -> None:
    respx.post(URL).respond(200, content=content)
    with pytest.raises(BadResponseError, match=re.escape(message)) as caught:
        await embed(["a", "b"], max_retries=0)
    assert str(caught.value).startswith("the embeddings ")
    assert URL in str(caught.value)


@respx.mock
async def test_a_body_over_the_limit_is_a_response_limit_error_naming_the_batch_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "MAX_BODY_SIZE", 100)
    route = respx.post(URL).mock(side_effect=answering())
    with pytest.raises(ResponseLimitError, match="--batch-size"):
        await embed(["a", "b", "c"])
    assert route.call_count == 1  # the same request would fetch the same answer


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (
            401,
            {"error": {"code": 401, "message": "User not found."}},
            AuthenticationError,
            "API key was refused",
        ),
        (
            402,
            {
                "error": {
                    "code": 402,
                    "message": "Insufficient credits. Add more using https://openrouter.ai/credits",
                }
            },
            InsufficientCreditsError,
            "not enough credits for this request (402): Insufficient credits",
        ),
        (404, {"error": {"code": 404, "message": "Model not found"}}, ModelNotFoundError, f"model {MODEL}"),
        (400, {"error": {"code": 400, "message": "Invalid request parameters"}}, BadRequestError, "rejected"),
    ],
)
@respx.mock
async def test_error_statuses_are_the_typed_errors_of_chat_requests_and_are_not_retried(
    status: int, body: dict[str, Any], error: type[Exception], message: str
) -> None:
    route = respx.post(URL).respond(status, json=body)
    with pytest.raises(error, match=re.escape(message)) as caught:
        await embed(["a"])
    assert route.call_count == 1
    assert KEY not in str(caught.value) and "\n" not in str(caught.value)


@respx.mock
async def test_a_rate_limit_is_retried_after_the_wait_and_then_answered() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    route = respx.post(URL)
    route.side_effect = [
        httpx.Response(
            429, json={"error": {"code": 429, "message": "Rate limit exceeded"}}, headers={"Retry-After": "2"}
        ),
        answering(),
    ]
    result = await embed(["a"], sleep=sleep)
    assert (route.call_count, waits, len(result.vectors)) == (2, [2.0], 1)


@respx.mock
async def test_an_error_inside_a_200_body_is_the_error_it_names() -> None:
    respx.post(URL).respond(200, json={"error": {"code": 402, "message": "Insufficient credits"}})
    with pytest.raises(InsufficientCreditsError):
        await embed(["a"])


@respx.mock
async def test_the_first_failure_ends_the_call_as_that_error_not_a_group() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["input"] == ["b"]:
            return httpx.Response(401, json={"error": {"code": 401, "message": "User not found."}})
        return httpx.Response(200, json=answer(body))

    respx.post(URL).mock(side_effect=respond)
    with pytest.raises(AuthenticationError):
        await embed(["a", "b", "c", "d"], batch_size=1, concurrency=1)


@respx.mock
async def test_an_unreachable_endpoint_is_a_connection_error() -> None:
    respx.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ProviderConnectionError, match=re.escape("cannot reach the endpoint openrouter.test")):
        await embed(["a"], max_retries=0)


@pytest.mark.parametrize(
    ("texts", "kwargs", "message"),
    [
        ([], {}, "texts: there is nothing to embed: no texts were given"),
        (["a", ""], {}, "texts: text #1 is empty (embedding models refuse empty input)"),
        ("abc", {}, "texts: expected a list of texts, got one string"),
        (["a", 3], {}, "texts: text #1 is a int, not a string"),
        (["a"], {"batch_size": 0}, "batch_size: expected an integer of at least 1, got 0"),
        (["a"], {"dimensions": 0}, "dimensions: expected an integer of at least 1, got 0"),
        (["a"], {"concurrency": 1.5}, "concurrency: expected an integer of at least 1, got 1.5"),
    ],
)
@respx.mock
async def test_bad_arguments_are_one_config_error_before_any_request(
    texts: Any, kwargs: dict[str, Any], message: str
) -> None:
    route = respx.post(URL).mock(side_effect=answering())
    with pytest.raises(ConfigError) as caught:
        await embed(texts, **kwargs)
    assert str(caught.value) == message
    assert route.call_count == 0


async def test_an_empty_model_id_is_refused() -> None:
    async with httpx.AsyncClient() as client:
        with pytest.raises(ConfigError, match="model: an embedding model id must not be empty"):
            await embed_texts(client, ["a"], model=" ", base_url=BASE, api_key=KEY)


def test_the_agent_defaults_are_the_modules() -> None:
    import inspect

    from agent.core.agent import Agent

    parameters = inspect.signature(Agent.embed).parameters
    assert parameters["batch_size"].default == module.DEFAULT_BATCH_SIZE
    assert parameters["concurrency"].default == module.DEFAULT_CONCURRENCY
