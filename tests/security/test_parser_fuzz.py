"""Fuzzing the parsers of what an endpoint or a model sends: SSE, JSON, and ``<tool_call>`` text.

Each property must hold for any input: nothing but our own errors escapes, the way the bytes
are chunked changes nothing, the caps hold, and the work grows linearly with the input.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent import safe_json
from agent.errors import ResponseLimitError
from agent.messages import ToolCall
from agent.providers.sse import DONE, SSEDecoder
from agent.text_protocol import MAX_CALLS_PER_REPLY, ParsedReply, _Finder, format_call, parse

# --- SSE -----------------------------------------------------------------------------------

SSE_PIECES = [
    b"data: ",
    b"data:",
    b"data",
    b"dat",
    b": OPENROUTER PROCESSING",
    b":",
    b"event: x",
    b"id: 1",
    b"[DONE]",
    b"\n",
    b"\r",
    b"\r\n",
    b"\n\n",
    b" ",
    b'{"a": 1}',
    b"\xef\xbb\xbf",
    "é✓😀".encode(),
    b"\xe2\x82",
    b"\xff",
]
SSE_BYTES = st.one_of(
    st.lists(st.sampled_from(SSE_PIECES) | st.binary(max_size=6), max_size=40).map(b"".join),
    st.binary(max_size=200),
)
MAX = 64  # a small limit, so that fuzzing meets it often


def decode(pieces: list[bytes], max_event_size: int = 1 << 30) -> tuple[list[str], bool] | str:
    """The events and ``done``, or ``"limit"`` if the decoder refused the input."""
    decoder = SSEDecoder(max_event_size=max_event_size)
    out: list[str] = []
    try:
        for piece in pieces:
            out += decoder.feed(piece)
        out += decoder.end()
    except ResponseLimitError:
        return "limit"
    return out, decoder.done


def cut(raw: bytes, points: list[int]) -> list[bytes]:
    edges = sorted({0, len(raw), *(p % (len(raw) + 1) for p in points)})
    return [raw[a:b] for a, b in itertools.pairwise(edges)]


def reference(raw: bytes) -> tuple[list[str], bool]:
    """The SSE rules, applied to the whole input at once."""
    text = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
    *lines, partial = re.split("\r\n|\r|\n", text)
    events: list[str] = []
    data: list[str] = []

    def field(line: str) -> None:
        name, colon, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if colon and value.startswith(" ") else value)

    for line in lines:
        if line:
            if not line.startswith(":"):
                field(line)
            continue
        joined, data[:] = "\n".join(data), []
        if joined == DONE:
            return events, True
        if joined:
            events.append(joined)
    if partial and not partial.startswith(":"):
        field(partial)
    return events, data == [DONE]


@given(SSE_BYTES, st.lists(st.integers(min_value=0), max_size=12))
def test_sse_chunking_never_changes_the_outcome(raw: bytes, points: list[int]) -> None:
    assert decode(cut(raw, points), MAX) == decode([raw], MAX)
    assert decode([raw[i : i + 1] for i in range(len(raw))], MAX) == decode([raw], MAX)


@given(SSE_BYTES, st.lists(st.integers(min_value=0), max_size=12))
def test_sse_decoding_follows_the_rules_applied_to_the_whole_input(raw: bytes, points: list[int]) -> None:
    assert decode(cut(raw, points)) == reference(raw)


@given(SSE_BYTES)
def test_sse_refuses_exactly_the_inputs_with_a_line_or_event_over_the_limit(raw: bytes) -> None:
    unlimited = decode([raw])
    if decode([raw], MAX) != "limit":
        assert decode([raw], MAX) == unlimited
    text_lines = re.split(rb"\r\n|\r|\n", raw)
    if all(len(line) <= MAX for line in text_lines) and sum(len(line) + 1 for line in text_lines) <= MAX:
        assert decode([raw], MAX) == unlimited  # small inputs are never refused


@given(st.lists(st.binary(max_size=50).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b"")), max_size=30))
def test_sse_unfinished_line_is_extended_in_place_never_rebuilt(pieces: list[bytes]) -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: ")
    buffer = decoder._line
    for piece in pieces:
        decoder.feed(piece)
        assert decoder._line is buffer
    assert bytes(buffer) == b"data: " + b"".join(pieces)


# --- JSON ----------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=40,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


@given(JSON_VALUES, st.integers(min_value=1, max_value=6))
def test_safe_json_agrees_with_json_up_to_the_depth_limit(value: Any, limit: int) -> None:
    text = json.dumps(value)
    if depth(value) <= limit:
        assert safe_json.loads(text, max_depth=limit) == json.loads(text)
        assert safe_json.raw_decode(" " + text, 1, max_depth=limit) == (json.loads(text), 1 + len(text))
    else:
        with pytest.raises(safe_json.JSONTooDeepError):
            safe_json.loads(text, max_depth=limit)


@given(st.text(alphabet=st.sampled_from(list('[]{}"\\:, 1a')), max_size=400))
def test_safe_json_raises_only_value_errors(text: str) -> None:
    with contextlib.suppress(ValueError):  # anything else (RecursionError, TypeError) fails the test
        safe_json.loads(text, max_depth=5)


# --- text protocol -------------------------------------------------------------------------

FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    "<tool_call",
    "</tool_",
    "{",
    "}",
    "[",
    "]",
    '"',
    "\\",
    ":",
    ",",
    '"name"',
    '"arguments"',
    '"parameters"',
    '"a"',
    '"{}"',
    "```",
    "```json\n",
    " ",
    "\n",
    "1",
    "null",
    "'",
    "<",
    "é",
]
REPLIES = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=120).map("".join)
BLOCKS = st.lists(
    st.sampled_from(
        [
            '<tool_call>{"name": "t", "arguments": {}}</tool_call>',
            '<tool_call>{"name": "t"',
            "<tool_call>",
            '<tool_call>{"name": "t", "arguments": "',
            "prose ",
        ]
    ),
    max_size=200,
).map("".join)


def counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    decode_json = safe_json.raw_decode

    def counted(text: str, index: int = 0, **kwargs: Any) -> tuple[Any, int]:
        sizes.append(len(text) - index)
        return decode_json(text, index, **kwargs)

    monkeypatch.setattr(safe_json, "raw_decode", counted)
    return sizes


@given(REPLIES | BLOCKS)
def test_parse_takes_any_text_and_keeps_to_its_caps(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        sizes = counting(monkeypatch)
        reply = parse(text)
    assert isinstance(reply, ParsedReply)
    assert len(reply.calls) <= MAX_CALLS_PER_REPLY
    assert len(reply.calls) + len(reply.problems) <= MAX_CALLS_PER_REPLY + 1
    assert len(sizes) <= 2 * MAX_CALLS_PER_REPLY * (1 + len(text).bit_length())
    assert sum(sizes) <= 4 * len(text) + 64  # each character decoded a bounded number of times
    for call in reply.calls:
        assert call.name and call.name == call.name.strip()
        assert isinstance(json.loads(call.arguments), dict)


@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=4), st.text(max_size=10))
def test_a_formatted_call_parses_back_to_the_same_call(arguments: dict[str, Any], name: str) -> None:
    name = name.strip() or "t"
    original = ToolCall(id="x", name=name, arguments=json.dumps(arguments, ensure_ascii=False))
    [back] = parse(format_call(original), make_id=lambda: "x").calls
    assert (back.name, json.loads(back.arguments)) == (name, arguments)


@given(
    st.lists(st.sampled_from(["ab", "a", "b", "x"]), max_size=40).map("".join),
    st.lists(st.integers(min_value=0, max_value=70), max_size=30),
)
def test_the_remembering_finder_agrees_with_str_find(text: str, positions: list[int]) -> None:
    finder = _Finder(text, "ab")
    for pos in positions:
        assert finder.find(pos) == text.find("ab", pos), (text, pos)
