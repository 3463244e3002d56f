"""Glob matching in linear-ish time: ``*``, ``?``, ``[...]`` within a name and ``**`` across names.

``fnmatch`` and regex-based globs backtrack: ``*a*a*a*a*a*a*a*a*a*a*a*a*c`` against a 30-character
name took 15 s and, since ``re`` holds the GIL, froze the whole server. This matcher is the
classic two-pointer wildcard algorithm that only ever backtracks to the most recent star, so a
match costs at most ``len(pattern) * len(text)`` steps. It runs twice over: over the characters
of one name (``*`` is the star) and over the ``/``-separated names of a path (``**`` is the star).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["MAX_PATTERN_CHARS", "Glob", "wildcard_match"]

MAX_PATTERN_CHARS = 512

_T = TypeVar("_T")
_I = TypeVar("_I")


def wildcard_match(
    tokens: Sequence[_T],
    items: Sequence[_I],
    is_star: Callable[[_T], bool],
    matches: Callable[[_T, _I], bool],
) -> bool:
    """Whether ``tokens`` match all of ``items``; a star token matches any run of items, others one.

    On a mismatch only the latest star is retried one item further on, which is enough because
    a later star can absorb anything an earlier one could: the cost stays ``O(len(tokens) * len(items))``.
    """
    t = i = 0
    star = -1
    star_item = 0
    while i < len(items):
        if t < len(tokens) and is_star(tokens[t]):
            star, star_item = t, i
            t += 1
        elif t < len(tokens) and matches(tokens[t], items[i]):
            t += 1
            i += 1
        elif star >= 0:
            star_item += 1
            t, i = star + 1, star_item
        else:
            return False
    while t < len(tokens) and is_star(tokens[t]):
        t += 1
    return t == len(tokens)


@dataclass(frozen=True, slots=True)
class _Wild:
    """A wildcard token: ``*`` or ``?`` within a name, or a whole ``**`` name."""

    kind: str


_STAR = _Wild("*")
_ANY = _Wild("?")
_GLOBSTAR = _Wild("**")


@dataclass(frozen=True, slots=True)
class _Class:
    """A ``[...]`` set: single characters and inclusive ranges, optionally negated with ``!``."""

    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...]
    negate: bool

    def has(self, char: str) -> bool:
        """Whether ``char`` belongs to the set (after negation)."""
        found = char in self.chars or any(low <= char <= high for low, high in self.ranges)
        return found != self.negate


_Token = _Wild | _Class | str  # a str token is one literal character
_Segment = tuple[_Token, ...] | _Wild  # the tokens of one name, or _GLOBSTAR


def _parse_class(segment: str, start: int) -> tuple[_Class, int] | None:
    """Parse ``[...]`` at ``start``; ``None`` when unclosed (then ``[`` is a literal)."""
    i = start + 1
    negate = i < len(segment) and segment[i] in "!^"
    i += negate
    body_start = i
    if i < len(segment) and segment[i] == "]":
        i += 1
    end = segment.find("]", i)
    if end == -1:
        return None
    body = segment[body_start:end]
    chars: set[str] = set()
    ranges: list[tuple[str, str]] = []
    j = 0
    while j < len(body):
        if j + 2 < len(body) and body[j + 1] == "-":
            ranges.append((body[j], body[j + 2]))
            j += 3
        else:
            chars.add(body[j])
            j += 1
    return _Class(frozenset(chars), tuple(ranges), negate), end + 1


def _tokens(segment: str) -> tuple[_Token, ...]:
    out: list[_Token] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        parsed = _parse_class(segment, i) if char == "[" else None
        if char == "*":
            if not out or out[-1] is not _STAR:
                out.append(_STAR)
            i += 1
        elif char == "?":
            out.append(_ANY)
            i += 1
        elif parsed is not None:
            out.append(parsed[0])
            i = parsed[1]
        else:
            out.append(char)
            i += 1
    return tuple(out)


def _char_matches(token: _Token, char: str) -> bool:
    if isinstance(token, str):
        return token == char
    if isinstance(token, _Class):
        return token.has(char)
    return token is _ANY


def _name_matches(tokens: tuple[_Token, ...], name: str) -> bool:
    return wildcard_match(tokens, name, lambda token: token is _STAR, _char_matches)


class Glob:
    """A compiled glob over ``/``-separated relative paths.

    A ``**`` segment matches zero or more whole names (one or more when it ends the pattern, as
    in git: ``src/**`` is what is inside ``src``); ``**`` inside a name is an ordinary ``*``.
    """

    __slots__ = ("_segments", "pattern")

    def __init__(self, pattern: str) -> None:
        """Compile ``pattern`` (leading ``./`` and trailing ``/`` are ignored).

        Raises:
            ValueError: The pattern is empty, too long, or contains a ``..`` segment.
        """
        pattern = pattern.strip().removeprefix("./").rstrip("/")
        if not pattern:
            raise ValueError("the glob pattern is empty")
        if len(pattern) > MAX_PATTERN_CHARS:
            raise ValueError(f"the glob pattern is over {MAX_PATTERN_CHARS} characters")
        names = [name for name in pattern.split("/") if name]
        if ".." in names:
            raise ValueError(f"the glob pattern {pattern!r} may not contain '..'")
        segments: list[_Segment] = []
        for name in names:
            if name == "**":
                if not segments or segments[-1] is not _GLOBSTAR:
                    segments.append(_GLOBSTAR)
            else:
                segments.append(_tokens(name))
        if len(segments) > 1 and segments[-1] is _GLOBSTAR:
            segments.insert(-1, (_STAR,))
        self.pattern = pattern
        self._segments = tuple(segments)

    @property
    def by_name(self) -> bool:
        """Whether the pattern has no ``/``: then it is matched against bare names at any depth."""
        return "/" not in self.pattern

    def match(self, path: str) -> bool:
        """Whether a relative ``/``-separated path (or a bare name) matches the whole pattern."""
        return wildcard_match(
            self._segments,
            [name for name in path.split("/") if name],
            lambda segment: segment is _GLOBSTAR,
            lambda segment, name: not isinstance(segment, _Wild) and _name_matches(segment, name),
        )

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"
