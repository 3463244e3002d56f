"""Decoding JSON a model or an endpoint wrote: failures are ``ValueError``, and nesting is bounded.

``json.loads`` recurses once per level, so ``[[[[…]]]]`` a few thousand levels deep raises
``RecursionError``; and a value that ``json`` still accepts (about 900 levels) sinks whatever
walks it later: pydantic serialisation stops at 255 levels, ``copy.deepcopy`` and recursive
helpers at the interpreter's limit. Every value decoded from untrusted JSON comes from
:func:`loads` or :func:`raw_decode`, which refuse more than :data:`MAX_DEPTH` levels with
:class:`JSONTooDeepError`, so nothing downstream meets a deeper value.

Checking costs two ``count`` calls on the text; only text holding more than :data:`MAX_DEPTH`
brackets has its value walked (once, without recursion).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "JSONTooDeepError", "loads", "raw_decode"]

MAX_DEPTH = 128
"""The deepest nesting of arrays and objects accepted (real tool arguments use a dozen or so)."""

_DECODER = json.JSONDecoder()


class JSONTooDeepError(ValueError):
    """The JSON nests arrays and objects more than :data:`MAX_DEPTH` levels deep.

    Args:
        limit: the number of levels allowed.
    """

    def __init__(self, limit: int = MAX_DEPTH) -> None:
        self.limit = limit
        super().__init__(f"nested too deeply (more than {limit} levels of arrays and objects)")


def loads(data: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` for untrusted text.

    Raises:
        JSONTooDeepError: the value nests more than ``max_depth`` levels.
        ValueError: the text is not JSON (``json.JSONDecodeError``, or ``UnicodeDecodeError``
            for bytes that are not UTF-8, -16 or -32).
    """
    try:
        value = json.loads(data)
    except RecursionError:
        raise JSONTooDeepError(max_depth) from None
    if isinstance(data, str):
        brackets = data.count("[") + data.count("{")
    else:
        brackets = data.count(b"[") + data.count(b"{")
    if brackets > max_depth and _deeper_than(value, max_depth):
        raise JSONTooDeepError(max_depth)
    return value


def raw_decode(text: str, index: int = 0, *, max_depth: int = MAX_DEPTH) -> tuple[Any, int]:
    """``json.JSONDecoder().raw_decode``: the value starting at ``index`` and where it ends.

    Raises:
        JSONTooDeepError: the value nests more than ``max_depth`` levels.
        json.JSONDecodeError: there is no JSON value at ``index``.
    """
    try:
        value, end = _DECODER.raw_decode(text, index)
    except RecursionError:
        raise JSONTooDeepError(max_depth) from None
    brackets = text.count("[", index, end) + text.count("{", index, end)
    if brackets > max_depth and _deeper_than(value, max_depth):
        raise JSONTooDeepError(max_depth)
    return value, end


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and dicts more than ``limit`` levels, level by level."""
    level = [value]
    for _ in range(limit):
        below: list[Any] = []
        for item in level:
            if isinstance(item, dict):
                below.extend(v for v in item.values() if isinstance(v, dict | list))
            elif isinstance(item, list):
                below.extend(v for v in item if isinstance(v, dict | list))
        if not below:
            return False
        level = below
    return True
