from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
import pytest

from agent.errors import ResponseLimitError
from agent.providers.sse import SSEDecoder, aiter_sse_data


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Case:
    name: str
    raw: bytes
    data: list[str]
    done: bool


CASES = [
    Case("one event", b'data: {"a":1}\n\n', ['{"a":1}'], False),
    Case(
        "comment lines are skipped",
        b": OPENROUTER PROCESSING\n\ndata: x\n\n: OPENROUTER PROCESSING\n\ndata: [DONE]\n\n",
        ["x"],
        True,
    ),
    Case("comment inside an event", b"data: a\n: ping\ndata: b\n\n", ["a\nb"], False),
    Case("multi-line data is joined with newlines", b"data: a\ndata: b\ndata: c\n\n", ["a\nb\nc"], False),
    Case("crlf line endings", b"data: a\r\n\r\ndata: b\r\n\r\n", ["a", "b"], False),
    Case("lone cr line endings", b"data: a\r\rdata: b\r\r", ["a", "b"], False),
    Case("no space after the colon", b"data:a\n\n", ["a"], False),
    Case("only one leading space is removed", b"data:  a\n\n", [" a"], False),
    Case("other fields are ignored", b"event: message\nid: 7\nretry: 10\nfoo\ndata: a\n\n", ["a"], False),
    Case("events with empty data are skipped", b"data\n\ndata:\n\nevent: x\n\ndata: a\n\n", ["a"], False),
    Case("nothing after done is read", b"data: a\n\ndata: [DONE]\n\ndata: b\n\n", ["a"], True),
    Case("done without a space", b"data:[DONE]\n\n", [], True),
    Case("done without the final blank line", b"data: a\n\ndata: [DONE]", ["a"], True),
    Case("done line ended but event not", b"data: a\n\ndata: [DONE]\n", ["a"], True),
    Case("done inside multi-line data is just data", b"data: [DONE]\ndata: x\n\n", ["[DONE]\nx"], False),
    Case("an incomplete event at the end is dropped", b'data: a\n\ndata: {"trunc', ["a"], False),
    Case("an unterminated event at the end is dropped", b"data: a\n\ndata: b\n", ["a"], False),
    Case(
        "multi-byte characters survive",
        'data: {"t":"héllo \u2013 ✓ 😀"}\n\n'.encode(),
        ['{"t":"héllo \u2013 ✓ 😀"}'],
        False,
    ),
    Case(
        "unicode line separators are not line ends",
        "data: a\u2028b\x85c\n\n".encode(),
        ["a\u2028b\x85c"],
        False,
    ),
    Case("a leading byte order mark is ignored", b"\xef\xbb\xbfdata: a\n\n", ["a"], False),
    Case("an empty stream", b"", [], False),
]


def decode(pieces: list[bytes]) -> tuple[list[str], bool]:
    decoder = SSEDecoder()
    out: list[str] = []
    for piece in pieces:
        out += decoder.feed(piece)
    out += decoder.end()
    return out, decoder.done


def splittings(raw: bytes) -> list[list[bytes]]:
    whole = [[raw]]
    byte_by_byte = [[raw[i : i + 1] for i in range(len(raw))]]
    in_two = [[raw[:i], raw[i:]] for i in range(1, len(raw))]
    return whole + byte_by_byte + in_two


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_decoder_yields_event_data_however_the_bytes_are_split(case: Case) -> None:
    for pieces in splittings(case.raw):
        assert decode(pieces) == (case.data, case.done), pieces


def test_feed_returns_each_event_as_soon_as_its_blank_line_arrives() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n") == []
    assert decoder.feed(b"\ndata: b") == ["a"]
    assert decoder.feed(b"\n\n") == ["b"]
    assert decoder.feed(b"data: [DONE]\n\n") == []
    assert decoder.done
    assert decoder.feed(b"data: late\n\n") == []
    assert decoder.end() == []


@pytest.mark.anyio
async def test_async_iteration_stops_reading_the_source_at_done() -> None:
    pulled: list[bytes] = []

    async def source() -> AsyncIterator[bytes]:
        for piece in (b"data: a\n\ndata: [DO", b"NE]\n\n", b"data: never\n\n"):
            pulled.append(piece)
            yield piece

    decoder = SSEDecoder()
    with anyio.fail_after(5):
        got = [data async for data in aiter_sse_data(source(), decoder)]
    assert (got, decoder.done, len(pulled)) == (["a"], True, 2)


@pytest.mark.anyio
async def test_async_iteration_reports_a_stream_that_ends_without_done() -> None:
    async def source() -> AsyncIterator[bytes]:
        yield b"data: a\n\ndata: b"

    decoder = SSEDecoder()
    with anyio.fail_after(5):
        got = [data async for data in aiter_sse_data(source(), decoder)]
    assert (got, decoder.done) == (["a"], False)


LIMIT_CASES = [
    ("a line at the limit", b"data: " + b"x" * 14 + b"\n\n", ["x" * 14]),
    ("a line over the limit", b"data: " + b"x" * 15 + b"\n\n", "line"),
    ("an unterminated line over the limit", b"data: " + b"x" * 15, "line"),
    ("a comment line over the limit", b": " + b"x" * 19 + b"\n\ndata: a\n\n", "line"),
    ("an event at the limit", b"data: 1234\ndata: 123\n\n", ["1234\n123"]),
    ("an event over the limit", b"data: 1234\ndata: 1234\n\n", "event"),
    ("a long line after done is not read", b"data: [DONE]\n\ndata: " + b"x" * 50, []),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in LIMIT_CASES], ids=[c[0] for c in LIMIT_CASES])
def test_no_line_or_event_may_pass_the_size_limit_however_the_bytes_are_split(
    raw: bytes, expected: list[str] | str
) -> None:
    for pieces in splittings(raw):
        decoder = SSEDecoder(max_event_size=20)
        out: list[str] = []
        try:
            for piece in pieces:
                out += decoder.feed(piece)
            out += decoder.end()
        except ResponseLimitError as exc:
            assert str(exc) == (
                f"the stream sent {'a line' if expected == 'line' else 'an event'} of more than 20 bytes, "
                "larger than any chat completion event: the endpoint is misbehaving"
            )
            assert isinstance(expected, str), pieces
        else:
            assert out == expected, pieces
