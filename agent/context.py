"""Keeping requests inside the model's context window: cap tool output, compact old tool results.

Over-long tool output is cut to its head and tail around a notice the model can act on. When a
request would not fit ``context_window - reserve_tokens``, the oldest tool results (never those
of the latest turn) get their content replaced by a short placeholder; messages are replaced,
never removed or mutated, so every tool result stays paired with its call.

``reserve_tokens`` is one number in a provider file, usually sized for large models; a model
whose window it would mostly fill (a small local or free model) gets a proportional reserve
instead (see :func:`effective_reserve`), rather than a run that cannot start.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from agent.errors import ContextLengthError
from agent.messages import AssistantMessage, MediaPart, Message, ToolMessage, ToolSpec, Usage
from agent.tokens import CHARS_PER_TOKEN, TokenCounter, message_tokens, text_tokens

__all__ = [
    "Compaction",
    "ContextGuard",
    "OutputCap",
    "cap_text",
    "compact_tool_results",
    "effective_reserve",
    "placeholder",
]

ADVICE = "use a model with a larger context window, a smaller --max-tool-output, or fewer servers"
_PLACEHOLDER_PREFIX = "[earlier tool result removed to fit the context window"
_TAIL_CHARS = 2_000
_SNAP_CHARS = 200
_TOOL_SHARE = 0.25
"""Share of the usable window that one turn's tool results may take, split among its calls."""
_MIN_SHARE_TOKENS = 256
_COMPACT_TO = 0.8
"""Compaction frees down to this share of the limit, so it does not recur (and bust provider
prompt caches) on every following turn."""
_LEARNED_MARGIN = 0.9
_MAX_RESERVE_SHARE = 0.5
"""A reserve over this share of the window was sized for a larger model; it becomes
``_SCALED_RESERVE_SHARE`` of the window instead."""
_SCALED_RESERVE_SHARE = 0.25


def effective_reserve(window: int | None, reserve: int) -> int:
    """The tokens to keep free for the answer: ``reserve``, unless it would take most of ``window``.

    A reserve over half the window (or larger than the window) becomes a quarter of the window,
    so a small model still has room for the prompt.
    """
    if window is None or reserve <= window * _MAX_RESERVE_SHARE:
        return reserve
    return int(window * _SCALED_RESERVE_SHARE)


def cap_text(text: str, limit: int) -> str:
    """Keep at most ``limit`` characters of ``text`` (head and a short tail) around a notice.

    Cuts snap to a line break within 200 characters when there is one, so lines stay whole.
    """
    if len(text) <= limit:
        return text
    tail_len = min(_TAIL_CHARS, limit // 10)
    head_len = limit - tail_len
    head_end = text.rfind("\n", max(0, head_len - _SNAP_CHARS), head_len)
    head = text[: head_end if head_end > 0 else head_len]
    tail = ""
    if tail_len:
        start = len(text) - tail_len
        newline = text.find("\n", start, start + _SNAP_CHARS)
        tail = text[newline + 1 if newline >= 0 else start :]
    shown = f"the first {len(head):,} and the last {len(tail):,}" if tail else f"the first {len(head):,}"
    notice = (
        f"[... output truncated: {len(text):,} characters, showing {shown}; "
        "ask for a smaller part (offset/limit, a narrower query)]"
    )
    return f"{head}\n{notice}\n{tail}" if tail else f"{head}\n{notice}"


@dataclass(frozen=True, slots=True)
class OutputCap:
    """The most of one tool result the model is shown: characters, and estimated tokens."""

    max_chars: int | None = None
    max_tokens: int | None = None

    def apply(self, text: str) -> str:
        """Cap ``text``; a token limit becomes a character limit at the text's own density."""
        limit = self.max_chars
        if self.max_tokens is not None:
            tokens = text_tokens(text)
            if tokens > self.max_tokens:
                by_tokens = len(text) * self.max_tokens // tokens
                limit = by_tokens if limit is None else min(limit, by_tokens)
        return text if limit is None else cap_text(text, limit)

    def apply_with_media(self, text: str, media: Sequence[MediaPart]) -> tuple[str, tuple[MediaPart, ...]]:
        """Cap a result with images or audio as one: each clip or image counts by its bytes.

        The text is capped as :meth:`apply` does; media that does not fit in what the limit
        leaves is left out, with a notice the model sees (the text still describes it).
        """
        text = self.apply(text)
        limit = self.max_chars
        if self.max_tokens is not None:
            by_tokens = int(self.max_tokens * CHARS_PER_TOKEN)
            limit = by_tokens if limit is None else min(limit, by_tokens)
        if limit is None:
            return text, tuple(media)
        room = limit - len(text)
        kept: list[MediaPart] = []
        notices: list[str] = []
        for part in media:
            size = part.size
            if size <= room:
                kept.append(part)
                room -= size
                continue
            what = "image" if part.type == "image" else "audio clip"
            notices.append(
                f"[{what} left out: {part.mime_type}, {size:,} bytes, more than the "
                f"{max(room, 0):,} left of the {limit:,}-character limit of one tool result]"
            )
        return "\n".join([text, *notices]), tuple(kept)


def placeholder(chars: int) -> str:
    """What a removed tool result says instead of its content."""
    return f"{_PLACEHOLDER_PREFIX} ({chars:,} characters); call the tool again if you still need it]"


@dataclass(frozen=True, slots=True)
class Compaction:
    """What one compaction did: which messages it replaced and how much that saved."""

    indices: tuple[int, ...] = ()
    tools: tuple[str, ...] = ()
    chars: int = 0
    freed: int = 0

    def describe(self) -> str:
        """``3 earlier tool results (read x2, query; 12,345 characters)``."""
        counts = Counter(self.tools)
        names = ", ".join(name if n == 1 else f"{name} x{n}" for name, n in counts.items())
        plural = "" if len(self.indices) == 1 else "s"
        return f"{len(self.indices)} earlier tool result{plural} ({names}; {self.chars:,} characters)"


def compact_tool_results(messages: list[Message], sizes: Sequence[int], excess: int) -> Compaction:
    """Replace the oldest tool results' content with a placeholder until ``excess`` tokens are freed.

    ``sizes`` are the messages' estimates. Results after the last assistant message (the latest
    turn's) and results already replaced are left alone. ``messages`` is changed in place.
    """
    last_assistant = next(
        (i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], AssistantMessage)), -1
    )
    indices: list[int] = []
    tools: list[str] = []
    chars = freed = 0
    for index in range(last_assistant):
        if freed >= excess:
            break
        message = messages[index]
        if not isinstance(message, ToolMessage) or message.content.startswith(_PLACEHOLDER_PREFIX):
            continue
        update: dict[str, object] = {"content": placeholder(len(message.content))}
        if message.media:
            update["media"] = ()
        replacement = message.model_copy(update=update)
        saving = sizes[index] - message_tokens(replacement)
        if saving <= 0:
            continue
        messages[index] = replacement
        indices.append(index)
        tools.append(message.name)
        chars += len(message.content)
        freed += saving
    return Compaction(tuple(indices), tuple(tools), chars, freed)


class ContextGuard:
    """Keeps one run's requests inside the context window.

    Args:
        window: the model's context window in tokens, if known.
        reserve: tokens kept free for the answer (``reserve_tokens``); scaled down when it
            would take more than half the window (see :func:`effective_reserve`).
        max_tool_output_chars: the most characters of one tool result the model sees.
    """

    def __init__(self, window: int | None, reserve: int, max_tool_output_chars: int | None) -> None:
        self.window = window
        self.configured_reserve = reserve
        self.reserve = effective_reserve(window, reserve)
        self.limit = window - self.reserve if window is not None else None
        self.max_tool_output_chars = max_tool_output_chars
        self.counter = TokenCounter()
        self._learned = False
        self._last_raw = 0

    @property
    def reserve_notice(self) -> str | None:
        """One line saying the configured reserve was scaled down for this window, if it was."""
        if self.window is None or self.reserve == self.configured_reserve:
            return None
        return (
            f"reserve_tokens ({self.configured_reserve:,}) would take most of the model's "
            f"{self.window:,}-token context window; keeping {self.reserve:,} tokens free for the answer"
        )

    @property
    def estimate(self) -> int:
        """The estimated prompt tokens of the request :meth:`fit` last saw (after any compaction)."""
        return self.counter.scaled(self._last_raw)

    def output_cap(self, calls: int) -> OutputCap:
        """The cap for each result of a turn with ``calls`` calls: a fair share of the window."""
        share = None
        if self.limit is not None:
            share = max(_MIN_SHARE_TOKENS, int(self.limit * _TOOL_SHARE / max(1, calls)))
            share = self.counter.unscaled(share)
        return OutputCap(self.max_tool_output_chars, share)

    def fit(self, messages: list[Message], tools: Sequence[ToolSpec]) -> str | None:
        """Compact ``messages`` when the request would not fit; returns a notice when it did.

        Raises:
            ContextLengthError: the request does not fit even with every earlier result removed.
        """
        counter = self.counter
        sizes = counter.sizes(messages)
        tools_raw = counter.tools(tools)
        raw = self._last_raw = sum(sizes) + tools_raw
        if self.limit is None or counter.scaled(raw) <= self.limit:
            return None
        target = counter.unscaled(int(self.limit * _COMPACT_TO))
        done = compact_tool_results(messages, sizes, raw - target)
        after = self._last_raw = raw - done.freed
        if counter.scaled(after) > self.limit:
            raise ContextLengthError(self._too_long(counter.scaled(after), counter.scaled(tools_raw)))
        return (
            f"removed {done.describe()} to fit the context window: from about "
            f"{counter.scaled(raw):,} to {counter.scaled(after):,} tokens (limit {self.limit:,})"
        )

    def shrink(self, messages: list[Message], tools: Sequence[ToolSpec], error: ContextLengthError) -> str:
        """After the provider said a request was too long: compact to half and lower the limit.

        Returns the notice for the retry.

        Raises:
            ContextLengthError: there was no earlier tool result left to remove.
        """
        counter = self.counter
        sizes = counter.sizes(messages)
        raw = sum(sizes) + counter.tools(tools)
        before = counter.scaled(raw)
        learned = int(before * _LEARNED_MARGIN)
        if self.limit is None or learned < self.limit:
            self.limit = learned
            self._learned = True
        done = compact_tool_results(messages, sizes, raw - raw // 2)
        if not done.indices:
            raise _wrap(error, f"there is no earlier tool result left to remove (about {before:,} tokens)")
        after = self._last_raw = raw - done.freed
        return (
            "the model rejected the request as too long for its context window; removed "
            f"{done.describe()} and retrying with about {counter.scaled(after):,} tokens "
            f"instead of {before:,}"
        )

    def still_too_long(self, error: ContextLengthError) -> ContextLengthError:
        """The error that ends a run whose retried request was rejected as too long again."""
        estimate = self.counter.scaled(self._last_raw)
        return _wrap(
            error, f"it still did not fit after removing earlier tool results (about {estimate:,} tokens)"
        )

    def observe(self, usage: Usage) -> None:
        """Calibrate the estimates against the prompt tokens a response reported."""
        self.counter.observe(self._last_raw, usage)

    def _too_long(self, estimate: int, tools: int) -> str:
        assert self.limit is not None
        if self._learned:
            allowed = f"only about {self.limit:,} fit (the model rejected a longer request)"
        else:
            scaled = (
                f", scaled down from reserve_tokens {self.configured_reserve:,}"
                if self.reserve != self.configured_reserve
                else ""
            )
            allowed = (
                f"only {self.limit:,} fit the context window "
                f"({self.window or 0:,} minus {self.reserve:,} reserved for the answer{scaled})"
            )
        return (
            f"the request needs about {estimate:,} tokens (tool definitions {tools:,}) but {allowed}, "
            f"even with earlier tool results removed; {ADVICE}"
        )


def _wrap(error: ContextLengthError, what: str) -> ContextLengthError:
    return ContextLengthError(
        f"{error}; {what}; {ADVICE}",
        status=error.status,
        code=error.code,
        metadata=error.metadata,
        model=error.model,
    )
