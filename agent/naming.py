"""Model-visible tool names: an explicit two-way map between (server, tool) and a safe name.

MCP allows dots, slashes and 128 characters in tool names; OpenAI-style APIs accept only
``[A-Za-z0-9_-]{1,64}``. Names are sanitised, prefixed with the server when two servers offer
the same tool, shortened with a deterministic hash suffix when too long or still colliding, and
routed back by dictionary lookup, never by splitting strings.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_NAME_LENGTH", "ToolNameMap", "ToolRef", "sanitize"]

MAX_NAME_LENGTH = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class ToolRef:
    """Where a model-visible tool name routes to."""

    server: str
    tool: str


def sanitize(name: str) -> str:
    """Replace every run of characters outside ``[A-Za-z0-9_-]`` with ``_``."""
    cleaned = _UNSAFE.sub("_", name).strip("_")
    return cleaned or "tool"


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _fit(name: str, key: str) -> str:
    """Shorten ``name`` to the length limit, keeping it unique to ``key`` with a hash suffix."""
    if len(name) <= MAX_NAME_LENGTH:
        return name
    suffix = "_" + _digest(key)
    return name[: MAX_NAME_LENGTH - len(suffix)] + suffix


class ToolNameMap:
    """A two-way map built once per run from every server's tool list.

    A tool keeps its own (sanitised) name when no other server offers the same one; otherwise
    every colliding tool is named ``server__tool``. The result is deterministic for the same
    inputs, whatever order the servers started in.
    """

    def __init__(self, refs: Iterable[ToolRef]) -> None:
        ordered = sorted(set(refs), key=lambda r: (r.server, r.tool))
        counts = Counter(sanitize(r.tool) for r in ordered)
        self._by_name: dict[str, ToolRef] = {}
        self._by_ref: dict[ToolRef, str] = {}
        for ref in ordered:
            base = sanitize(ref.tool)
            candidate = base if counts[base] == 1 else f"{sanitize(ref.server)}__{base}"
            key = f"{ref.server}\x00{ref.tool}"
            name = _fit(candidate, key)
            if name in self._by_name:
                name = _fit(f"{candidate[: MAX_NAME_LENGTH - 9]}_{_digest(key)}", key)
            self._by_name[name] = ref
            self._by_ref[ref] = name

    def name_for(self, server: str, tool: str) -> str:
        """The model-visible name of ``tool`` on ``server``; ``KeyError`` when unknown."""
        return self._by_ref[ToolRef(server, tool)]

    def resolve(self, name: str) -> ToolRef | None:
        """Where a model-visible name routes to, or None for a name the model made up."""
        return self._by_name.get(name)

    def names(self) -> list[str]:
        """Every model-visible name, sorted."""
        return sorted(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)
