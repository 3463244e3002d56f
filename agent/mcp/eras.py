"""Which MCP protocol era to speak to a server, and remembering what a server turned out to speak.

Servers of the 2025-11-25 era and older start with the ``initialize`` handshake; servers of
2026-07-28 are stateless and answer ``server/discover``. The SDK's ``mode="auto"`` probes
``server/discover`` and falls back to the handshake; the probe costs nothing against servers
that answer it (either way), but a server that silently ignores unknown requests makes it wait
10 s. So an entry without a ``mode`` is probed once and the era it answered in is remembered in
the user cache directory, keyed by a hash of the entry (what starts or reaches the server:
command, arguments, environment and directory, or URL and headers; secrets only ever hashed).
A server remembered as legacy is spoken to with the handshake for a week, then probed again (it
may have been upgraded); one remembered as 2026-07-28 is still probed (the answer is needed for
its capabilities and costs one round trip).

In-process servers and transports given in code speak the handshake unless told otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from agent.cache import write_atomically
from agent.config.servers import ConnectMode, HttpServerConfig, StdioServerConfig

__all__ = ["MODERN_VERSION", "EraStore", "config_key", "plan_mode"]

MODERN_VERSION: Final = "2026-07-28"
"""The stateless protocol revision (the SDK speaks no later one)."""
_FILE_NAME = "mcp-eras.json"
_LEGACY_MAX_AGE = 7 * 24 * 3600.0
_MAX_ENTRIES = 500

SdkMode = Literal["legacy", "auto", "2026-07-28"]


def config_key(config: StdioServerConfig | HttpServerConfig) -> str:
    """A stable hash of what identifies the server of ``config`` (not its timeouts or mode)."""
    if isinstance(config, StdioServerConfig):
        identity: dict[str, Any] = {
            "command": config.command,
            "args": config.args,
            "env": config.env,
            "cwd": config.cwd,
        }
    else:
        identity = {"type": config.type, "url": config.url, "headers": config.headers}
    text = json.dumps(identity, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EraStore:
    """The protocol version each server last negotiated, by :func:`config_key` (one small JSON file).

    Args:
        path: the file; None keeps the memory in this object only.
        clock: seconds since the epoch (tests pass their own).
    """

    def __init__(self, path: Path | None = None, *, clock: Any = time.time) -> None:
        self.path = path
        self._clock = clock
        self._entries: dict[str, dict[str, Any]] | None = None if path is not None else {}

    @classmethod
    def in_cache_dir(cls, cache_dir: Path) -> EraStore:
        """The store of the user cache directory."""
        return cls(cache_dir / _FILE_NAME)

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            self._entries = {}
            assert self.path is not None
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # none yet, or unreadable: everything is probed afresh
                data = {}
            if isinstance(data, dict):
                self._entries = {k: v for k, v in data.items() if isinstance(v, dict)}
        return self._entries

    def recall(self, key: str) -> str | None:
        """The version remembered for ``key``, unless it is a legacy one older than a week."""
        entry = self._load().get(key)
        if entry is None:
            return None
        version, seen = entry.get("version"), entry.get("seen")
        if not isinstance(version, str) or not isinstance(seen, int | float):
            return None
        if version != MODERN_VERSION and self._clock() - seen > _LEGACY_MAX_AGE:
            return None
        return version

    def remember(self, key: str, version: str) -> None:
        """Record that the server of ``key`` negotiated ``version`` (a failed write is ignored)."""
        entries = self._load()
        known = entries.get(key)
        if known is not None and known.get("version") == version and version == MODERN_VERSION:
            return  # nothing new to write
        entries[key] = {"version": version, "seen": int(self._clock())}
        if len(entries) > _MAX_ENTRIES:
            oldest = sorted(entries, key=lambda k: entries[k].get("seen", 0))
            for old in oldest[: len(entries) - _MAX_ENTRIES]:
                del entries[old]
        if self.path is not None:
            # A read-only cache directory: the next start probes again.
            with contextlib.suppress(OSError):
                write_atomically(self.path, json.dumps(entries, sort_keys=True))


@dataclass(frozen=True, slots=True)
class ModePlan:
    """How to connect: the SDK ``mode``, and the store key to remember the outcome under (if any)."""

    mode: SdkMode
    remember_as: str | None = None


def plan_mode(target: object, pinned: ConnectMode | None, store: EraStore | None) -> ModePlan:
    """The SDK mode for ``target``: ``pinned`` if given, else the config's, else remembered or probed.

    Args:
        target: what the connection connects to.
        pinned: a mode given in code for this server (overrides the config's).
        store: where eras are remembered; None: configs without a mode are probed every time.
    """
    if pinned is not None:
        return ModePlan(pinned)
    if not isinstance(target, StdioServerConfig | HttpServerConfig):
        return ModePlan("legacy")
    if target.mode is not None:
        return ModePlan(target.mode)
    if store is None:
        return ModePlan("auto")
    key = config_key(target)
    known = store.recall(key)
    if known is not None and known != MODERN_VERSION:
        return ModePlan("legacy")
    return ModePlan("auto", remember_as=key)
