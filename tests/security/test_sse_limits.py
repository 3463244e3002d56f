"""Attacks on the SSE decoder: one endless line, one endless event, and work that grows with both.

A hostile or broken endpoint once sent a 100 MB line: the decoder re-joined the unfinished line
on every chunk (109 s, 410 MB). Now the line is appended to in place and no line or event may
pass :data:`~agent.providers.sse.MAX_EVENT_SIZE`: the turn fails with one clear line, and the
request is not sent again.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from agent.errors import BadResponseError, ResponseLimitError
from agent.messages import RequestSettings
from agent.providers.retry_policy import retry_delay
from agent.providers.sse import MAX_EVENT_SIZE, SSEDecoder
from tests.security.linearity import assert_linear
from tests.unit.test_openai_compat_support import MODEL, byte_stream, chunk, complete

MIB = 1024 * 1024
PIECE = b"x" * (64 * 1024)
LINE_TOO_LONG = (
    "the stream sent a line of more than 16 MiB, larger than any chat completion event: "
    "the endpoint is misbehaving"
)


def test_the_limit_is_16_mib_per_line_and_per_event() -> None:
    assert MAX_EVENT_SIZE == 16 * MIB


def test_a_100_mb_line_in_64_kib_chunks_is_rejected_at_the_limit_with_bounded_memory() -> None:
    decoder = SSEDecoder()
    fed = 0
    tracemalloc.start()
    try:
        with pytest.raises(ResponseLimitError) as info:
            decoder.feed(b"data: ")
            for _ in range(100 * MIB // len(PIECE)):
                decoder.feed(PIECE)
                fed += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(info.value) == LINE_TOO_LONG
    assert fed == MAX_EVENT_SIZE // len(PIECE) - 1  # the chunk that passed the limit was the last
    assert peak < MAX_EVENT_SIZE + 8 * MIB  # the line so far, not 100 MB (nor copies of it)


def test_a_line_arriving_in_one_huge_chunk_is_rejected_too() -> None:
    with pytest.raises(ResponseLimitError) as info:
        SSEDecoder().feed(b"data: " + b"x" * (MAX_EVENT_SIZE + 1) + b"\n\n")
    assert str(info.value) == LINE_TOO_LONG


def test_an_event_of_many_short_data_lines_is_rejected_at_the_limit() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    with pytest.raises(ResponseLimitError) as info:
        decoder.feed(b"data: 123456789\n" * 100)
    assert str(info.value) == (
        "the stream sent an event of more than 1,000 bytes, larger than any chat completion event: "
        "the endpoint is misbehaving"
    )


def test_a_long_comment_line_is_rejected_although_it_would_be_skipped() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    with pytest.raises(ResponseLimitError):
        for _ in range(20):
            decoder.feed(b": " + b"." * 100)


def test_a_large_legal_event_in_64_kib_chunks_still_decodes() -> None:
    body = '{"text": "' + "y" * (8 * MIB) + '"}'
    raw = b"data: " + body.encode() + b"\n\ndata: [DONE]\n\n"
    decoder = SSEDecoder()
    out: list[str] = []
    for at in range(0, len(raw), len(PIECE)):
        out += decoder.feed(raw[at : at + len(PIECE)])
    assert (out, decoder.done) == ([body], True)


def test_an_event_exactly_at_the_limit_decodes() -> None:
    value = "z" * (1000 - len("data: ") - 1)
    decoder = SSEDecoder(max_event_size=1000)
    assert decoder.feed(f"data: {value}\n\n".encode()) == [value]


def test_an_unfinished_line_is_appended_to_in_place_not_joined_again_per_chunk() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: ")
    buffer = decoder._line
    for _ in range(100):
        decoder.feed(PIECE)
    assert decoder._line is buffer
    assert len(buffer) == len(b"data: ") + 100 * len(PIECE)


def test_a_15_mib_line_in_1_kib_chunks_is_decoded_in_one_pass() -> None:
    # 15,360 chunks: re-joining the line per chunk would copy ~115 GB; appending copies 15 MiB.
    decoder = SSEDecoder()
    small = b"x" * 1024
    decoder.feed(b"data: ")
    for _ in range(15 * 1024):
        decoder.feed(small)
    [data] = decoder.feed(b"\n\n")
    assert len(data) == 15 * MIB


def test_decoding_time_grows_linearly_with_a_long_line() -> None:
    def decode(text: str) -> object:
        raw = f"data: {text}\n\n".encode()
        decoder = SSEDecoder()
        return [decoder.feed(raw[at : at + 4096]) for at in range(0, len(raw), 4096)]

    assert_linear(decode, "abcdefgh" * 128, 256)  # 256 KiB, then 2 MiB


def oversized_stream() -> Iterator[bytes]:
    yield f"data: {json.dumps(chunk({'content': 'Hel'}))}\n\n".encode()
    yield b"data: "
    while True:  # endless: the client must stop reading by itself
        yield PIECE


@pytest.mark.anyio
async def test_an_endpoint_streaming_an_oversized_event_fails_the_turn_without_retrying() -> None:
    async def endless() -> AsyncIterator[bytes]:
        for piece in oversized_stream():
            yield piece

    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=endless())
    with pytest.raises(ResponseLimitError) as info:
        await complete(response, stream=True, settings=RequestSettings())
    exc = info.value
    assert (str(exc), exc.model) == (LINE_TOO_LONG, MODEL)
    assert isinstance(exc, BadResponseError)
    assert retry_delay(exc, 1, max_retries=5) is None


@pytest.mark.anyio
async def test_a_non_streamed_body_over_its_limit_fails_the_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.providers import openai_compat

    monkeypatch.setattr(openai_compat, "MAX_BODY_SIZE", 2 * MIB)
    body = json.dumps({"choices": [{"message": {"content": "x" * (3 * MIB)}}]}).encode()
    response = httpx.Response(
        200, content=byte_stream([body[i : i + 65536] for i in range(0, len(body), 65536)])
    )
    with pytest.raises(ResponseLimitError) as info:
        await complete(response, stream=False)
    assert str(info.value) == (
        "the response body from https://openrouter.test/api/v1/chat/completions is larger than 2 MiB, "
        "larger than any chat completion"
    )


@pytest.mark.anyio
async def test_only_the_first_mib_of_a_huge_error_body_is_read() -> None:
    from agent.errors import ProviderUnavailableError
    from agent.providers.openai_compat import MAX_ERROR_BODY_SIZE

    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        yield b"upstream exploded "
        while True:
            pulled += 1
            yield b"!" * len(PIECE)

    with pytest.raises(ProviderUnavailableError) as info:
        await complete(httpx.Response(503, content=endless()), stream=False)
    assert str(info.value).startswith("the provider is unavailable (503): upstream exploded !!!")
    assert pulled == MAX_ERROR_BODY_SIZE // len(PIECE)  # the piece that passed 1 MiB was the last
