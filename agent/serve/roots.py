"""The host's roots as the bundled fs server's directories: narrowed, started once per set, shared.

A host that offers roots (``roots/list``) says which directories it works in. A ``run_task`` for
such a host gives the bundled fs server (``--server fs``) those directories only, never more than
the server was started with: a host root outside the fs server's own directories is left out, and
when none is left the run goes without that server's tools. The host's roots only ever narrow.

An fs server for a set of roots is started the first time a run needs it and kept for later runs
(at most :data:`MAX_ROOT_SETS` sets; the least recently used idle one is stopped beyond that).
Each is owned by one task, which enters and leaves its connection (anyio scopes must be left by
the task that entered them).
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import anyio

from agent.config.servers import StdioServerConfig
from agent.errors import McpError

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from agent.mcp.manager import McpManager
    from agent.mcp.targets import ServerTarget

__all__ = ["MAX_ROOT_SETS", "FsServer", "RootedServers", "bundled_fs_servers", "narrow_roots", "root_paths"]

MAX_ROOT_SETS = 8
"""Sets of host roots with an fs server of their own at once (idle ones beyond are stopped)."""
_BUNDLED_FS = ["-P", "-m", "servers.fs"]


@dataclass(frozen=True)
class FsServer:
    """An attached bundled fs server: its name, its config and the directories it was given."""

    name: str
    config: StdioServerConfig
    roots: tuple[Path, ...]

    def with_roots(self, roots: Sequence[Path]) -> StdioServerConfig:
        """This server's config serving ``roots`` instead (its flags kept)."""
        flags = [arg for arg in self.config.args[len(_BUNDLED_FS) :] if arg.startswith("-")]
        return self.config.model_copy(update={"args": [*_BUNDLED_FS, *flags, *map(str, roots)]})


def bundled_fs_servers(targets: Mapping[str, ServerTarget]) -> dict[str, FsServer]:
    """The attached servers that are the bundled fs server (``--server fs[:DIRS]``), by name."""
    found = {}
    for name, target in targets.items():
        if (
            isinstance(target, StdioServerConfig)
            and target.command == sys.executable
            and target.args[: len(_BUNDLED_FS)] == _BUNDLED_FS
        ):
            given = [arg for arg in target.args[len(_BUNDLED_FS) :] if not arg.startswith("-")]
            roots = tuple(Path(os.path.realpath(root)) for root in given or [target.cwd or os.getcwd()])
            found[name] = FsServer(name, target, roots)
    return found


def root_paths(uris: Iterable[str]) -> list[Path]:
    """The local directories of ``file://`` root URIs (others, and relative paths, are skipped)."""
    paths = []
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            continue
        path = unquote(parts.path)
        if "\0" in path or not os.path.isabs(path):
            continue
        paths.append(Path(path))
    return paths


def narrow_roots(host: Iterable[Path], allowed: Sequence[Path]) -> tuple[Path, ...]:
    """The host's directories that lie inside ``allowed`` (symlinks resolved), in order, once each."""
    real_allowed = [Path(os.path.realpath(root)) for root in allowed]
    kept: dict[Path, None] = {}
    for path in host:
        real = Path(os.path.realpath(path))
        if not real.is_dir():
            continue
        if any(real == root or real.is_relative_to(root) for root in real_allowed):
            kept[real] = None
    return tuple(kept)


@dataclass(eq=False)
class _Entry:
    """One fs server started for a set of roots, and who is using it."""

    config: StdioServerConfig
    name: str
    ready: anyio.Event = field(default_factory=anyio.Event)
    closing: anyio.Event = field(default_factory=anyio.Event)
    manager: McpManager | None = None
    error: McpError | None = None
    users: int = 0


class RootedServers:
    """fs servers started for sets of host roots, shared by the runs that need the same set.

    Use as ``async with RootedServers() as rooted:`` in one task; then any task may
    ``async with rooted.use(fs, roots) as toolset:`` for one run.
    """

    def __init__(self, *, limit: int = MAX_ROOT_SETS) -> None:
        self._limit = limit
        self._entries: OrderedDict[tuple[str, tuple[Path, ...]], _Entry] = OrderedDict()
        self._task_group: TaskGroup | None = None

    async def __aenter__(self) -> RootedServers:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for entry in self._entries.values():
            entry.closing.set()
        self._entries.clear()
        task_group, self._task_group = self._task_group, None
        if task_group is not None:
            await task_group.__aexit__(None, None, None)

    @asynccontextmanager
    async def use(self, server: FsServer, roots: tuple[Path, ...]) -> AsyncIterator[McpManager]:
        """The fs server ``server`` serving ``roots``, started if no run has it yet.

        Raises:
            McpError: it could not be started.
        """
        if self._task_group is None:
            raise RuntimeError("enter RootedServers first")
        key = (server.name, roots)
        entry = self._entries.get(key)
        if entry is None:
            entry = _Entry(server.with_roots(roots), server.name)
            self._entries[key] = entry
            self._task_group.start_soon(self._own, entry, name=f"serve:fs-roots:{server.name}")
        self._entries.move_to_end(key)
        entry.users += 1
        try:
            await entry.ready.wait()
            if entry.error is not None or entry.manager is None:
                if self._entries.get(key) is entry:
                    del self._entries[key]  # the next run tries again
                raise entry.error or McpError("did not start", server=server.name)
            yield entry.manager
        finally:
            entry.users -= 1
            self._evict()

    def _evict(self) -> None:
        """Stop the least recently used idle servers while there are more sets than the limit."""
        for key in list(self._entries):
            if len(self._entries) <= self._limit:
                return
            entry = self._entries[key]
            if entry.users == 0:
                entry.closing.set()
                del self._entries[key]

    async def _own(self, entry: _Entry) -> None:
        """Start the server, hold it until it is no longer wanted, then stop it."""
        from agent.mcp.manager import McpManager

        try:
            async with McpManager({entry.name: entry.config}) as manager:
                failed = manager.failed
                if failed:
                    entry.error = failed[0].error
                    return
                entry.manager = manager
                entry.ready.set()
                await entry.closing.wait()
        except Exception as exc:  # reported to the runs waiting for it, never past this task
            entry.error = McpError(f"could not start for the host's roots: {exc}", server=entry.name)
        finally:
            entry.manager = None
            entry.ready.set()
