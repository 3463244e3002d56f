"""Tool calling for models without native support: the Hermes/Qwen ``<tool_call>`` text convention.

The system prompt lists the tools as JSON inside ``<tools>…</tools>`` and asks for
``<tool_call>{"name": …, "arguments": {…}}</tool_call>`` blocks; results go back in a user
message as ``<tool_response>…</tool_response>`` blocks. :func:`parse` is tolerant (text around
blocks, several blocks, fenced JSON, a missing closing tag, ``arguments`` as a JSON string,
``parameters`` for ``arguments``) and turns what it cannot use into problem lines for the model.
JSON we write escapes ``</`` (as ``<`` backslash ``/``) so no tool text can close a tag early.

Replies are untrusted text, so parsing is linear and bounded: at most
:data:`MAX_CALLS_PER_REPLY` blocks are read (the model is told about the rest), each block is at
most :data:`MAX_BLOCK_CHARS` long, and its JSON at most :data:`~agent.safe_json.MAX_DEPTH` deep.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from agent import safe_json
from agent.messages import (
    AssistantMessage,
    Message,
    ToolCall,
    ToolMessage,
    ToolSpec,
    UserMessage,
    describe_media,
    new_call_id,
)

__all__ = [
    "EXPECTED_FORMAT",
    "MAX_BLOCK_CHARS",
    "MAX_CALLS_PER_REPLY",
    "ParsedReply",
    "ToolResult",
    "format_call",
    "format_results",
    "parse",
    "system_prompt",
    "to_text_history",
]

OPEN, CLOSE = "<tool_call>", "</tool_call>"
EXPECTED_FORMAT = (
    'Write each call as <tool_call>{"name": "<tool name>", "arguments": {<arguments>}}</tool_call> '
    "where the arguments are one JSON object (double quotes, no trailing commas)."
)
MAX_CALLS_PER_REPLY = 32
"""The most ``<tool_call>`` blocks read from one reply; the model is told the rest were not run."""
MAX_BLOCK_CHARS = 1_000_000
"""The longest a block may be, from its opening tag to its closing tag or the end of its JSON."""
_SPACE = re.compile(r"\s*")
_FENCE_OPEN = re.compile(r"```[A-Za-z0-9_-]*[ \t]*")
_EMPTY_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n\s*```")
"""A fence left empty once the blocks it wrapped were taken out."""


class ParsedReply(BaseModel):
    """A text-protocol reply: the prose outside the blocks, the calls, and what could not be used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text_outside: str
    calls: list[ToolCall] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)


class ToolResult(NamedTuple):
    """One result to send back: the call it answers, the tool, the text, and whether it failed."""

    call_id: str
    name: str
    content: str
    is_error: bool = False


def system_prompt(tools: Sequence[ToolSpec], base_system: str | None, *, require_call: bool = False) -> str:
    """The system prompt that teaches the tool-call format, after ``base_system`` if given.

    Args:
        tools: the tools the model may call.
        base_system: the run's own system prompt.
        require_call: ask for at least one call in the next reply (``tool_choice="required"``).
    """
    schemas = (
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
        }
        for t in tools
    )
    lines = "\n".join(map(_dumps, schemas))
    parts = [base_system.strip()] if base_system and base_system.strip() else []
    parts.append(
        "# Tools\n\n"
        "You may call one or more tools to help with the user's request. "
        "The tools are described by these JSON schemas:\n"
        f"<tools>\n{lines}\n</tools>\n\n"
        "To call a tool, write a <tool_call> block holding one JSON object with the tool's name and "
        "its arguments:\n"
        '<tool_call>\n{"name": "<tool name>", "arguments": {<arguments as a JSON object>}}\n</tool_call>\n\n'
        "Write one block per call; several blocks in one reply are allowed. Use JSON with double "
        "quotes. After your calls, stop: the results come back in <tool_response> blocks in the next "
        "message. When you need no tool, answer normally, without any <tool_call> block."
    )
    if require_call:
        parts.append("In your next reply you must call at least one tool.")
    return "\n\n".join(parts)


def parse(text: str, *, make_id: Callable[[], str] = new_call_id) -> ParsedReply:
    """Split a reply into prose and tool calls, in time linear in ``len(text)``.

    Only the first :data:`MAX_CALLS_PER_REPLY` blocks are read; a problem line tells the model
    how many more there were and that they were not run, and the text from the first of them on
    is dropped (it is neither prose nor calls).

    Args:
        text: the model's reply.
        make_id: makes the id of each call found (the model does not write ids).
    """
    outside: list[str] = []
    calls: list[ToolCall] = []
    problems: list[str] = []
    opens, closes = _Finder(text, OPEN), _Finder(text, CLOSE)
    pos = number = 0
    while (start := opens.find(pos)) >= 0:
        outside.append(text[pos:start])
        if number == MAX_CALLS_PER_REPLY:
            problems.append(_too_many(text.count(OPEN, start)))
            pos = len(text)
            break
        number += 1
        pos, value, problem = _read_block(text, start + len(OPEN), opens, closes)
        if problem is None:
            call, problem = _to_call(value, make_id)
            if call is not None:
                calls.append(call)
        if problem is not None:
            problems.append(f"Tool call {number} was not run: {problem}. {EXPECTED_FORMAT}")
    outside.append(text[pos:])
    prose = _EMPTY_FENCE.sub("", "".join(outside)) if number else "".join(outside)
    return ParsedReply(text_outside=prose.strip(), calls=calls, problems=problems)


def _too_many(extra: int) -> str:
    return (
        f"Only the first {MAX_CALLS_PER_REPLY} tool calls of a reply are read: the other {extra} "
        f"<tool_call> blocks were not run. Make those calls in your next reply if they are still "
        f"needed, at most {MAX_CALLS_PER_REPLY} at a time."
    )


def format_call(call: ToolCall) -> str:
    """One call as the model would have written it (arguments kept as sent if they are not JSON)."""
    try:
        arguments: Any = safe_json.loads(call.arguments) if call.arguments.strip() else {}
    except ValueError:  # not JSON, or nested too deeply: kept as the text it is
        arguments = call.arguments
    return f"{OPEN}\n{_dumps({'name': call.name, 'arguments': arguments})}\n{CLOSE}"


def format_results(
    results: Sequence[ToolResult | tuple[str, str, str, bool]], problems: Sequence[str] = ()
) -> str:
    """The user message carrying tool results: one ``<tool_response>`` each, then any problems.

    Each block holds ``{"id", "name", "is_error", "content"}`` as JSON.
    """
    blocks = [
        "<tool_response>\n"
        + _dumps({"id": call_id, "name": name, "is_error": is_error, "content": content})
        + "\n</tool_response>"
        for call_id, name, content, is_error in results
    ]
    return "\n".join([*blocks, *problems])


def to_text_history(messages: Sequence[Message]) -> list[Message]:
    """A native history in text-protocol form, so a run can switch protocol mid-way.

    Assistant tool calls become ``<tool_call>`` blocks after the assistant's text (their
    ``reasoning_details`` are dropped: providers tie them to native calls); each run of tool
    messages becomes one user message of ``<tool_response>`` blocks, carrying the results'
    images and audio after the text. System and user messages are kept; the caller replaces
    the system prompt with :func:`system_prompt`.
    """
    out: list[Message] = []
    pending: list[ToolMessage] = []
    for message in messages:
        if isinstance(message, ToolMessage):
            pending.append(message)
            continue
        if pending:
            out.append(_results_message(pending))
            pending = []
        if isinstance(message, AssistantMessage) and message.tool_calls:
            text = "\n".join([message.content or "", *map(format_call, message.tool_calls)]).strip()
            out.append(AssistantMessage(content=text, reasoning=message.reasoning))
        else:
            out.append(message)
    if pending:
        out.append(_results_message(pending))
    return out


def _results_message(messages: Sequence[ToolMessage]) -> UserMessage:
    """One user message answering a turn's tool messages, with their media after the text."""
    results = [ToolResult(m.tool_call_id, m.name, m.content, m.is_error) for m in messages]
    with_media = [m for m in messages if m.media]
    if not with_media:
        return UserMessage(content=format_results(results))
    notes = [
        f"[{describe_media(m.media)} of the result of {m.tool_call_id} ({m.name}) "
        f"{'is' if len(m.media) == 1 else 'are'} attached below]"
        for m in with_media
    ]
    media = tuple(part for m in with_media for part in m.media)
    return UserMessage(content=format_results(results, notes), media=media)


class _Finder:
    """``str.find`` of one needle that remembers what it has searched, so repeated searches are cheap.

    It knows that the first needle at or after ``start`` is at ``hit`` (-1: none to the end). A
    search from a later position up to ``hit`` costs nothing; one from further on searches on from
    there; one from an earlier position searches only the text before ``start``.
    """

    def __init__(self, text: str, needle: str) -> None:
        self.text, self.needle = text, needle
        self.start, self.hit = len(text) + 1, -1  # nothing searched yet

    def find(self, pos: int) -> int:
        """The position of the first needle at or after ``pos``, or -1."""
        if pos < self.start:
            found = self.text.find(self.needle, pos, self.start + len(self.needle) - 1)
            self.start = pos
            if found >= 0:
                self.hit = found
        elif 0 <= self.hit < pos:
            self.start, self.hit = pos, self.text.find(self.needle, pos)
        return self.hit


class _Block:
    """One block: it starts at ``body`` and may not reach past ``limit``.

    A tag past ``limit`` does not count, so a block costs at most about :data:`MAX_BLOCK_CHARS`
    of decoding however long the reply is.
    """

    def __init__(self, text: str, body: int, opens: _Finder, closes: _Finder) -> None:
        self.text, self.opens, self.closes = text, opens, closes
        self.limit = min(len(text), body + MAX_BLOCK_CHARS)

    def next_tag(self, at: int) -> tuple[int, bool]:
        """The first opening or closing tag from ``at`` to ``limit`` (and whether it closes), or -1."""
        close = self.closes.find(at)
        if close > self.limit:
            close = -1
        reopen = self.opens.find(at)
        if reopen >= 0 and (reopen < close or (close < 0 and reopen <= self.limit)):
            return reopen, False
        return close, close >= 0

    def end(self, at: int) -> int:
        """Past this block's closing tag, or at the next opening tag / the end when it has none."""
        tag, closing = self.next_tag(at)
        if tag >= 0:
            return tag + len(CLOSE) if closing else tag
        reopen = self.opens.find(self.limit)  # too long: it swallows all up to the next block
        return reopen if reopen >= 0 else len(self.text)


def _read_block(text: str, body: int, opens: _Finder, closes: _Finder) -> tuple[int, Any, str | None]:
    """Read the block whose content starts at ``body``: where it ends, its JSON value, or a problem."""
    block = _Block(text, body, opens, closes)
    at = _skip_space(text, body)
    fence = _FENCE_OPEN.match(text, at)
    if fence:
        at = _skip_space(text, fence.end())
    if at >= len(text) or text.startswith(CLOSE, at):
        return block.end(at), None, "the block is empty"
    if text[at] != "{":
        end = block.end(at)
        return end, None, f"expected a JSON object after {OPEN}, got {_snippet(text, at, end)}"
    try:
        value, end = _decode(block, at)
    except _Malformed as exc:
        return block.end(at) if exc.resume is None else exc.resume, None, str(exc)
    after = _skip_space(text, end)
    if fence and text.startswith("```", after):
        after = _skip_space(text, after + 3)
    if text.startswith(CLOSE, after):
        return after + len(CLOSE), value, None
    tag, closing = block.next_tag(after)
    if not closing:
        return after, value, None  # no closing tag: the call ends with its JSON
    return tag + len(CLOSE), None, f"unexpected text after the JSON object: {_snippet(text, after, tag)}"


def _to_call(value: Any, make_id: Callable[[], str]) -> tuple[ToolCall | None, str | None]:
    if not isinstance(value, dict):
        return None, f'expected a JSON object with "name" and "arguments", got {_kind(value)}'
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        return None, 'the "name" of the tool is missing'
    key = "arguments" if "arguments" in value else "parameters"
    arguments = value.get(key)
    if isinstance(arguments, str):
        try:
            arguments = safe_json.loads(arguments) if arguments.strip() else {}
        except safe_json.JSONTooDeepError as exc:
            return None, f'"{key}" of {name} is a string of JSON {exc}'
        except ValueError:
            return None, f'"{key}" of {name} is a string that is not valid JSON'
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        return None, f'"{key}" of {name} must be a JSON object, got {_kind(arguments)}'
    call = ToolCall(id=make_id(), name=name.strip(), arguments=json.dumps(arguments, ensure_ascii=False))
    return call, None


class _Malformed(Exception):
    """The JSON of a block cannot be decoded; the message says why, for the model.

    Args:
        message: the problem, for the model.
        resume: where to look for the next block, if not after this block's first tag.
    """

    def __init__(self, message: str, resume: int | None = None) -> None:
        super().__init__(message)
        self.resume = resume


def _decode(block: _Block, at: int) -> tuple[Any, int]:
    """Decode the JSON value at ``at``: its value and where it ends.

    The decoder only ever sees a window ending at a tag (or at the block's limit): decoding
    errors cost time proportional to the text before them, so decoding in place would make many
    bad blocks quadratic. JSON that runs past the window's tag must be inside a string (``<`` is
    not valid JSON elsewhere), so an unterminated string widens the window to a later tag, at
    least doubling it, up to the block's limit.
    """
    text, limit = block.text, block.limit
    end = at
    while True:
        tag, _ = block.next_tag(end)
        end = tag if tag >= 0 else limit
        window = text[at:end]
        try:
            value, length = safe_json.raw_decode(window)
        except safe_json.JSONTooDeepError as exc:
            raise _Malformed(f"the JSON is {exc}") from None
        except json.JSONDecodeError as exc:
            cut = end >= limit and limit < len(text)  # the window stops at the limit, not at a tag
            if exc.msg.startswith("Unterminated string") and end < len(text):
                if not cut:
                    end = min(limit, at + max(2 * len(window), len(window) + len(CLOSE)))
                    continue
            elif not (cut and exc.pos >= len(window) - 8):  # not a value cut short by the limit
                raise _Malformed(_json_problem(window, exc)) from None
            reopen = block.opens.find(limit)  # the block's end is unknown: resume at the next block
            raise _Malformed(
                f"the call is longer than {MAX_BLOCK_CHARS:,} characters",
                reopen if reopen >= 0 else len(text),
            ) from None
        return value, at + length


def _json_problem(window: str, exc: json.JSONDecodeError) -> str:
    where = f"(character {exc.pos + 1} of the JSON)"
    if window.startswith("'", exc.pos):
        return f"the JSON uses single quotes {where}: JSON strings and names need double quotes"
    if window[: exc.pos].rstrip().endswith(",") and window.startswith(
        ("}", "]"), _skip_space(window, exc.pos)
    ):
        return f"the JSON has a trailing comma {where}"
    return f"the JSON is invalid: {exc.msg} {where}"


def _skip_space(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _snippet(text: str, pos: int, end: int, size: int = 30) -> str:
    """Up to ``size`` characters of ``text[pos:end]``, quoted, without copying the rest."""
    piece = text[pos : min(end, pos + size)]
    return json.dumps(piece + ("…" if end > pos + size else ""), ensure_ascii=False)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _dumps(value: Any) -> str:
    """Compact JSON with ``</`` escaped (still valid JSON) so the text cannot close our tags."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")
