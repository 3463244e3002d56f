from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
import pytest

from agent.errors import (
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ContextLengthError,
    InsufficientCreditsError,
    ModelNotFoundError,
    NoToolEndpointsError,
    PermissionDeniedError,
    ProviderConnectionError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from agent.messages import RequestSettings, UserMessage
from agent.providers import OpenAICompatibleModel, create_http_client
from agent.providers.http_errors import (
    classify,
    connection_error,
    is_unreachable,
    parse_retry_after,
    redact,
    upstream_message,
)
from tests.unit.test_openai_compat_support import KEY, MODEL, URL, chunk, complete, stream_response


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def envelope(message: str, code: int | str | None, **extra: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, **extra}
    if code is not None:
        error["code"] = code
    return {"error": error}


NO_TOOLS = (
    "No endpoints found that support tool use. To learn more about provider routing, visit: "
    "https://openrouter.ai/docs/provider-routing"
)
CONTEXT = (
    "This endpoint's maximum context length is 8192 tokens. However, you requested about 9000 tokens "
    "(8000 of text input, 1000 in the output). Please reduce the length of either one."
)
RAW_502 = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
PAST = "Wed, 21 Oct 2015 07:28:00 GMT"
CHECK = (
    "check the endpoint URL (OPENROUTER_BASE_URL or api_endpoint in the provider file) "
    "and your network and proxy settings"
)

# (id, status, body, headers, expected type, expected message, expected retry_after)
HTTP_CASES: list[tuple[str, int, Any, dict[str, str], type[ProviderError], str, float | None]] = [
    (
        "401",
        401,
        envelope("User not found.", 401),
        {},
        AuthenticationError,
        "the API key was refused (401): User not found.",
        None,
    ),
    (
        "401 echoing the key",
        401,
        envelope(f"Incorrect API key provided: {KEY}\nCheck it.", 401),
        {},
        AuthenticationError,
        "the API key was refused (401): Incorrect API key provided: [redacted] Check it.",
        None,
    ),
    (
        "402",
        402,
        envelope("This request requires more credits, or fewer max_tokens.", 402),
        {},
        InsufficientCreditsError,
        "not enough credits for this request (402): This request requires more credits, or fewer max_tokens.",
        None,
    ),
    (
        "403 moderation",
        403,
        envelope(
            "Input was flagged",
            403,
            metadata={
                "reasons": ["violence", "hate"],
                "flagged_input": "x",
                "provider_name": "OpenAI",
                "model_slug": MODEL,
            },
        ),
        {},
        PermissionDeniedError,
        "the request was refused (403): Input was flagged (reasons: violence, hate) [provider: OpenAI]",
        None,
    ),
    (
        "404 no tool endpoints",
        404,
        envelope(NO_TOOLS, 404),
        {},
        NoToolEndpointsError,
        f"no endpoint of {MODEL} supports tool use (404): {NO_TOOLS}",
        None,
    ),
    (
        "404 other",
        404,
        envelope(f"No endpoints found for {MODEL}.", 404),
        {},
        ModelNotFoundError,
        f"model {MODEL} is not available (404): No endpoints found for {MODEL}.",
        None,
    ),
    (
        "400 invalid model id",
        400,
        envelope(f"{MODEL} is not a valid model ID", 400),
        {},
        ModelNotFoundError,
        f"model {MODEL} is not available (400): {MODEL} is not a valid model ID",
        None,
    ),
    (
        "400 availability model_not_found",
        400,
        envelope("Model unavailable", 400, availability={"code": "model_not_found", "retryable": False}),
        {},
        ModelNotFoundError,
        f"model {MODEL} is not available (400): Model unavailable",
        None,
    ),
    (
        "400 context wording",
        400,
        envelope(CONTEXT, 400),
        {},
        ContextLengthError,
        f"the request does not fit the model's context window (400): {CONTEXT}",
        None,
    ),
    (
        "400 context error_type",
        400,
        envelope(
            "Provider returned error",
            400,
            metadata={
                "error_type": "context_length_exceeded",
                "raw": "too big",
                "provider_name": "Anthropic",
            },
        ),
        {},
        ContextLengthError,
        "the request does not fit the model's context window (400): "
        'Provider returned error; Anthropic said: "too big"',
        None,
    ),
    (
        "400 other",
        400,
        envelope("'models' array must have 3 items or fewer.", 400),
        {},
        BadRequestError,
        "the request was rejected (400): 'models' array must have 3 items or fewer.",
        None,
    ),
    (
        "413",
        413,
        envelope("Payload too large", 413),
        {},
        BadRequestError,
        "the request was rejected (413): Payload too large",
        None,
    ),
    (
        "422",
        422,
        envelope("Unprocessable", 422),
        {},
        BadRequestError,
        "the request was rejected (422): Unprocessable",
        None,
    ),
    (
        "429 retry-after seconds",
        429,
        envelope("Rate limit exceeded: free-models-per-day", 429),
        {"Retry-After": "7"},
        RateLimitError,
        "rate limited (429): Rate limit exceeded: free-models-per-day",
        7.0,
    ),
    (
        "429 availability retry_after",
        429,
        envelope("Capacity exhausted", 429, availability={"code": "capacity_exhausted", "retry_after": 12}),
        {},
        RateLimitError,
        "rate limited (429): Capacity exhausted",
        12.0,
    ),
    (
        "503 retry-after date",
        503,
        envelope("No instances available", 503),
        {"Retry-After": PAST},
        ProviderUnavailableError,
        "the provider is unavailable (503): No instances available",
        0.0,
    ),
    (
        "408",
        408,
        envelope("Request timed out", 408),
        {},
        ProviderUnavailableError,
        "the provider is unavailable (408): Request timed out",
        None,
    ),
    (
        "500",
        500,
        envelope("Internal Server Error", 500, error_type="server"),
        {},
        ProviderUnavailableError,
        "the provider is unavailable (500): Internal Server Error",
        None,
    ),
    (
        "502 wrapped provider error",
        502,
        envelope("Provider returned error", 502, metadata={"raw": RAW_502, "provider_name": "Anthropic"}),
        {},
        ProviderUnavailableError,
        'the provider is unavailable (502): Provider returned error; Anthropic said: "Overloaded"',
        None,
    ),
    (
        "504",
        504,
        envelope("Gateway timeout", 504),
        {},
        ProviderUnavailableError,
        "the provider is unavailable (504): Gateway timeout",
        None,
    ),
    (
        "524",
        524,
        envelope("Edge timeout", 524),
        {},
        ProviderUnavailableError,
        "the provider is unavailable (524): Edge timeout",
        None,
    ),
    (
        "529",
        529,
        envelope("Overloaded", 529),
        {},
        ProviderUnavailableError,
        "the provider is unavailable (529): Overloaded",
        None,
    ),
    (
        "502 html body",
        502,
        b"<html>\r\n<head><title>502 Bad Gateway</title></head>\n</html>",
        {},
        ProviderUnavailableError,
        "the provider is unavailable (502): <html> <head><title>502 Bad Gateway</title></head> </html>",
        None,
    ),
    (
        "500 empty body",
        500,
        b"",
        {},
        ProviderUnavailableError,
        "the provider is unavailable (500): Internal Server Error",
        None,
    ),
    (
        "400 text body",
        400,
        b"bad request body",
        {},
        BadRequestError,
        "the request was rejected (400): bad request body",
        None,
    ),
    (
        "400 error as a string",
        400,
        {"error": "model field is required"},
        {},
        BadRequestError,
        "the request was rejected (400): model field is required",
        None,
    ),
    (
        "422 detail body",
        422,
        {"detail": "messages: field required"},
        {},
        BadRequestError,
        "the request was rejected (422): messages: field required",
        None,
    ),
]


def http_response(status: int, body: Any, headers: dict[str, str]) -> httpx.Response:
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


async def failure(response: httpx.Response | Exception, *, stream: bool, **kwargs: Any) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        await complete(response, stream=stream, **kwargs)
    exc = info.value
    assert KEY not in str(exc)
    assert KEY not in repr(exc.metadata)
    assert "\n" not in str(exc)
    assert exc.model == MODEL
    return exc


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "message", "retry_after"),
    [c[1:] for c in HTTP_CASES],
    ids=[c[0] for c in HTTP_CASES],
)
async def test_error_status_and_body_map_to_one_typed_error_with_the_upstream_message(
    stream: bool,
    status: int,
    body: Any,
    headers: dict[str, str],
    kind: type[ProviderError],
    message: str,
    retry_after: float | None,
) -> None:
    exc = await failure(http_response(status, body, headers), stream=stream)
    code = (
        body["error"].get("code") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    )
    assert (type(exc), str(exc), exc.status, exc.code, exc.retry_after) == (
        kind,
        message,
        status,
        code,
        retry_after,
    )


@pytest.mark.anyio
async def test_error_metadata_is_kept_with_raw_and_provider_name_and_keys_redacted() -> None:
    metadata = {"raw": f'{{"error": "bad key {KEY}"}}', "provider_name": "Anthropic", "is_byok": True}
    exc = await failure(
        http_response(401, envelope("Provider returned error", 401, metadata=metadata), {}), stream=False
    )
    assert exc.metadata == {
        "raw": '{"error": "bad key [redacted]"}',
        "provider_name": "Anthropic",
        "is_byok": True,
    }
    assert (exc.raw, exc.provider_name) == ('{"error": "bad key [redacted]"}', "Anthropic")


# (id, 200 body, expected type, expected message)
BODY_CASES: list[tuple[str, Any, type[ProviderError], str]] = [
    (
        "error envelope with a status code",
        envelope("Rate limit exceeded", 429),
        RateLimitError,
        "rate limited (429): Rate limit exceeded",
    ),
    (
        "flagged content as 502",
        envelope("This content was flagged for possible cybersecurity risk", 502),
        ProviderUnavailableError,
        "the provider is unavailable (502): This content was flagged for possible cybersecurity risk",
    ),
    (
        "error with a string code",
        envelope("boom", "server_error"),
        BadResponseError,
        "the provider reported an error: boom",
    ),
    (
        "error typed but without code",
        envelope("slow down", None, metadata={"error_type": "rate_limit_exceeded"}),
        RateLimitError,
        "rate limited (429): slow down",
    ),
    (
        "no choices",
        {"id": "gen-1", "choices": []},
        BadResponseError,
        "the response had no choices and no error",
    ),
    (
        "choices missing",
        {"id": "gen-1", "model": MODEL},
        BadResponseError,
        "the response had no choices and no error",
    ),
    (
        "choices null",
        {"id": None, "choices": None},
        BadResponseError,
        "the response had no choices and no error",
    ),
    ("not an object", [], BadResponseError, "expected a JSON object from the provider, got list"),
    (
        "choice error with error finish",
        {
            "choices": [
                {
                    "message": {"content": "partial"},
                    "finish_reason": "error",
                    "error": {
                        "code": 502,
                        "message": "Upstream died",
                        "metadata": {"error_type": "provider_unavailable"},
                    },
                }
            ]
        },
        ProviderUnavailableError,
        "the provider is unavailable (502): Upstream died",
    ),
    (
        "error finish without an error object",
        {
            "choices": [
                {
                    "message": {"content": None},
                    "finish_reason": "error",
                    "native_finish_reason": "MALFORMED_FUNCTION_CALL",
                }
            ]
        },
        BadResponseError,
        "the model finished with an error (native: MALFORMED_FUNCTION_CALL) and no error message",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "kind", "message"), [c[1:] for c in BODY_CASES], ids=[c[0] for c in BODY_CASES]
)
async def test_a_200_body_without_a_completion_is_an_error(
    body: Any, kind: type[ProviderError], message: str
) -> None:
    exc = await failure(httpx.Response(200, json=body), stream=False)
    assert (type(exc), str(exc)) == (kind, message)


@pytest.mark.anyio
async def test_a_200_body_that_is_not_json_is_a_bad_response() -> None:
    exc = await failure(httpx.Response(200, content=b"<html>oops</html>"), stream=False)
    assert (type(exc), str(exc)) == (
        BadResponseError,
        "the response body was not valid JSON: <html>oops</html>",
    )


MID_STREAM_ERROR = {
    "id": "gen-abc123",
    "object": "chat.completion.chunk",
    "created": 1234567890,
    "model": "openai/gpt-4o",
    "provider": "OpenAI",
    "error": {
        "code": 429,
        "message": "Rate limit exceeded",
        "metadata": {"error_type": "rate_limit_exceeded"},
    },
    "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
}


@pytest.mark.anyio
async def test_an_error_chunk_mid_stream_fails_the_turn_after_partial_output() -> None:
    seen: list[str] = []
    events = [chunk({"content": "Hel"}), chunk({"content": "lo"}), MID_STREAM_ERROR]
    exc = await failure(stream_response(events), stream=True, on_delta=lambda _k, s: seen.append(s))
    assert (type(exc), str(exc), exc.status, exc.code) == (
        RateLimitError,
        "rate limited (429): Rate limit exceeded",
        429,
        429,
    )
    assert exc.metadata == {"error_type": "rate_limit_exceeded"}
    assert seen == ["Hel", "lo"]


STREAM_CASES: list[tuple[str, list[Any], bool, type[ProviderError], str]] = [
    (
        "error chunk with a string code",
        [chunk({"content": "a"}), {"error": {"code": "server_error", "message": "oops"}}],
        True,
        BadResponseError,
        "the provider reported an error: oops",
    ),
    (
        "error finish without an error object",
        [chunk({"content": "a"}), chunk(finish="error")],
        True,
        BadResponseError,
        "the model finished with an error and no error message",
    ),
    (
        "broken json chunk",
        [chunk({"content": "a"}), '{"choices": [{"delta": '],
        True,
        BadResponseError,
        'a stream chunk was not valid JSON: {"choices": [{"delta":',
    ),
    (
        "usage only",
        [chunk(choices=False, usage={"prompt_tokens": 1})],
        True,
        BadResponseError,
        "the response had no choices and no error",
    ),
    (
        "eof without done or finish",
        [chunk({"content": "a"}), chunk({"content": "b"})],
        False,
        ProviderConnectionError,
        f"the stream from {URL} ended before the response was complete",
    ),
    (
        "eof with nothing at all",
        [],
        False,
        ProviderConnectionError,
        f"the stream from {URL} ended before the response was complete",
    ),
]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("events", "done", "kind", "message"), [c[1:] for c in STREAM_CASES], ids=[c[0] for c in STREAM_CASES]
)
async def test_a_stream_that_fails_or_stops_early_returns_no_partial_output(
    events: list[Any], done: bool, kind: type[ProviderError], message: str
) -> None:
    exc = await failure(stream_response(events, done=done), stream=True)
    assert (type(exc), str(exc)) == (kind, message)


@pytest.mark.anyio
async def test_a_stream_cut_mid_event_is_a_connection_error() -> None:
    body = f"data: {json.dumps(chunk({'content': 'a'}))}\n\ndata: {json.dumps(chunk({'content': 'b'}))}"
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body[:-9].encode())
    exc = await failure(response, stream=True)
    assert (type(exc), str(exc)) == (
        ProviderConnectionError,
        f"the stream from {URL} ended before the response was complete",
    )


@pytest.mark.anyio
async def test_a_connection_dropped_mid_stream_is_a_connection_error() -> None:
    dropped = httpx.RemoteProtocolError("peer closed connection without sending complete message body")
    exc = await failure(
        stream_response([chunk({"content": "a"})], done=False, fail_with=dropped), stream=True
    )
    assert (type(exc), str(exc)) == (
        ProviderConnectionError,
        f"the connection to {URL} was lost: peer closed connection without sending complete message body",
    )
    assert exc.__cause__ is dropped


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            f"cannot reach the endpoint openrouter.test ([Errno 111] Connection refused); {CHECK}",
        ),
        (httpx.ReadTimeout(""), f"the request to {URL} timed out (ReadTimeout)"),
        (
            httpx.ConnectTimeout(""),
            f"cannot reach the endpoint openrouter.test (connection timed out); {CHECK}",
        ),
        (
            httpx.ProxyError("407 Proxy Authentication Required"),
            "cannot reach the endpoint openrouter.test "
            f"(proxy error: 407 Proxy Authentication Required); {CHECK}",
        ),
        (httpx.ReadError("reset"), f"the connection to {URL} was lost: reset"),
        (httpx.DecodingError("bad gzip"), f"the response from {URL} could not be decoded: bad gzip"),
    ],
    ids=["connect", "read-timeout", "connect-timeout", "proxy", "read-error", "decoding"],
)
async def test_transport_failures_become_connection_errors(error: httpx.HTTPError, message: str) -> None:
    exc = await failure(error, stream=False)
    kind = BadResponseError if isinstance(error, httpx.DecodingError) else ProviderConnectionError
    assert (type(exc), str(exc), exc.__cause__) == (kind, message, error)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.anyio
async def test_a_refused_loopback_connection_is_a_connection_error() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    async with create_http_client(5) as client:
        model = OpenAICompatibleModel(client, model=MODEL, base_url=base_url, api_key=KEY)
        with anyio.fail_after(10), pytest.raises(ProviderConnectionError) as info:
            await model.complete([UserMessage(content="hi")], [], RequestSettings())
    port = base_url.split(":")[2].split("/")[0]
    assert str(info.value) == f"cannot reach the endpoint 127.0.0.1:{port} (connection refused); {CHECK}"
    assert is_unreachable(info.value)


@pytest.mark.anyio
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_loopback_server_that_never_answers_times_out_as_a_connection_error(stream: bool) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        base_url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        async with create_http_client(0.2) as client:
            model = OpenAICompatibleModel(client, model=MODEL, base_url=base_url, api_key=KEY)
            with anyio.fail_after(10), pytest.raises(ProviderConnectionError) as info:
                await model.complete([UserMessage(content="hi")], [], RequestSettings(stream=stream))
    assert str(info.value) == f"the request to {base_url}/chat/completions timed out (ReadTimeout)"


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 1.5 ", 1.5),
        ("-3", 0.0),
        ("Thu, 01 Jan 2026 12:02:00 GMT", 120.0),
        ("Thu, 01 Jan 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, InsufficientCreditsError),
        (403, PermissionDeniedError),
        (404, ModelNotFoundError),
        (408, ProviderUnavailableError),
        (409, BadRequestError),
        (413, BadRequestError),
        (422, BadRequestError),
        (429, RateLimitError),
        (500, ProviderUnavailableError),
        (501, ProviderUnavailableError),
        (502, ProviderUnavailableError),
        (503, ProviderUnavailableError),
        (524, ProviderUnavailableError),
        (529, ProviderUnavailableError),
        (None, BadResponseError),
        (302, BadResponseError),
    ],
)
def test_every_status_maps_to_one_documented_error(status: int | None, kind: type[ProviderError]) -> None:
    assert type(classify(status, "x", model=MODEL, secret=KEY)) is kind


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        (f"key {KEY} refused", KEY, "key [redacted] refused"),
        ("key abc123 refused", "abc123", "key [redacted] refused"),
        ("other key sk-proj-abcdefghijklmnopqrstuv here", None, "other key [redacted] here"),
        ("nothing secret: sk-short", KEY, "nothing secret: sk-short"),
    ],
)
def test_redact_removes_the_key_and_key_shaped_strings(text: str, secret: str | None, expected: str) -> None:
    assert redact(text, secret) == expected


@pytest.mark.parametrize(
    ("status", "message", "raw", "kind"),
    [
        (400, "Invalid model parameter 'temperature'", None, BadRequestError),
        (400, "The model `acme/x` does not exist or you do not have access to it.", None, ModelNotFoundError),
        (
            400,
            "Provider returned error",
            "prompt is too long: 210000 tokens > 200000 maximum",
            ContextLengthError,
        ),
        (400, "Provider returned error", '{"error": "unknown model acme/x"}', ModelNotFoundError),
        (429, "Too many tokens per minute for this context window", None, RateLimitError),
        (502, "Provider returned error", "model overloaded, context window busy", ProviderUnavailableError),
        (None, "This model's maximum context length is 128000 tokens", None, ContextLengthError),
    ],
)
def test_wording_decides_only_among_client_side_errors(
    status: int | None, message: str, raw: str | None, kind: type[ProviderError]
) -> None:
    metadata = {"raw": raw} if raw else {}
    assert type(classify(status, message, metadata=metadata, model=MODEL, secret=KEY)) is kind


@pytest.mark.anyio
async def test_a_host_name_that_does_not_resolve_says_the_endpoint_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_such_host(host: object, *args: object, **kwargs: object) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no lookup leaves this machine
    async with create_http_client(5) as client:
        model = OpenAICompatibleModel(
            client, model=MODEL, base_url="https://api.example.invalid/v1", api_key=KEY
        )
        with anyio.fail_after(10), pytest.raises(ProviderConnectionError) as info:
            await model.complete([UserMessage(content="hi")], [], RequestSettings())
    assert str(info.value) == (
        "cannot reach the endpoint api.example.invalid "
        f"(host name lookup failed: Name or service not known); {CHECK}"
    )
    assert is_unreachable(info.value)


def test_an_unreachable_endpoint_never_shows_the_user_and_password_of_its_url() -> None:
    error = connection_error(
        httpx.ConnectError("refused"), url="http://user:hunter2@proxy.test:8080/v1", model=MODEL, secret=KEY
    )
    assert str(error) == f"cannot reach the endpoint proxy.test:8080 (refused); {CHECK}"


def test_a_connection_lost_after_it_was_made_is_not_called_unreachable() -> None:
    error = connection_error(httpx.ReadError("reset"), url=URL, model=MODEL, secret=KEY)
    assert (str(error), is_unreachable(error)) == (f"the connection to {URL} was lost: reset", False)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Unsupported value: 'none' for tool_choice", "Unsupported value: 'none' for tool_choice"),
        (
            '{"error":{"message":"Unsupported value: \'none\' for tool_choice",'
            '"type":"invalid_request_error"}}',
            "Unsupported value: 'none' for tool_choice",
        ),
        (RAW_502, "Overloaded"),
        ('{"error": {"message": "{\\"error\\": {\\"message\\": \\"inner words\\"}}"}}', "inner words"),
        ('[{"error": {"message": "first of a list"}}]', "first of a list"),
        ('{"detail": "messages: field required"}', "messages: field required"),
        ({"error": {"message": "already an object"}}, "already an object"),
        ('{"status": 400}', '{"status": 400}'),
        ("{not json", "{not json"),
        ("two\nlines\x1b[2J and\u202econtrols", "two lines[2J andcontrols"),
        ("x" * 300, "x" * 199 + "…"),
        ("   ", ""),
        (None, ""),
    ],
    ids=[
        "text",
        "json",
        "anthropic json",
        "json in json",
        "list",
        "detail",
        "object",
        "json without a message",
        "broken json",
        "controls",
        "long",
        "blank",
        "none",
    ],
)
def test_upstream_message_is_the_providers_own_words_on_one_short_line(raw: object, expected: str) -> None:
    assert upstream_message(raw) == expected


def test_the_upstream_providers_message_is_part_of_the_error_line_with_keys_redacted() -> None:
    raw = json.dumps({"error": {"message": f"Unsupported value: 'none' for tool_choice (key {KEY})"}})
    error = classify(
        400,
        "Provider returned error",
        metadata={"raw": raw, "provider_name": "OpenAI"},
        model=MODEL,
        secret=KEY,
    )
    assert str(error) == (
        "the request was rejected (400): Provider returned error; "
        "OpenAI said: \"Unsupported value: 'none' for tool_choice (key [redacted])\""
    )


@pytest.mark.parametrize(
    ("message", "metadata", "expected"),
    [
        (
            "Provider returned error",
            {"raw": "Unsupported value"},
            "the request was rejected (400): Provider returned error; "
            'the upstream provider said: "Unsupported value"',
        ),
        (
            "Unsupported value: 'none' for tool_choice",
            {"raw": "Unsupported value: 'none' for tool_choice", "provider_name": "OpenAI"},
            "the request was rejected (400): Unsupported value: 'none' for tool_choice [provider: OpenAI]",
        ),
        (
            "Provider returned error",
            {"raw": "", "provider_name": "OpenAI"},
            "the request was rejected (400): Provider returned error [provider: OpenAI]",
        ),
    ],
    ids=["no provider name", "raw repeats the message", "empty raw"],
)
def test_the_upstream_message_is_named_once_and_only_when_it_adds_something(
    message: str, metadata: dict[str, Any], expected: str
) -> None:
    assert str(classify(400, message, metadata=metadata, model=MODEL, secret=KEY)) == expected
