"""One lock per file path, so that read-modify-write tool calls on the same file take turns.

Forty parallel ``edit_file`` calls on one file used to lose edits: each read the file, replaced
its text and wrote it back over the others. The SDK runs sync tools in worker threads, so these
are ``threading`` locks; a lock lives only while some call holds or awaits it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PathLocks"]


class PathLocks:
    """A registry of per-path locks, keyed by the resolved real path."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[Path, threading.Lock] = weakref.WeakValueDictionary()

    @contextmanager
    def hold(self, path: Path) -> Iterator[None]:
        """Hold the lock of ``path`` (a resolved real path) for the duration of the block."""
        with self._guard:
            lock = self._locks.get(path)
            if lock is None:
                lock = threading.Lock()
                self._locks[path] = lock
        with lock:
            yield
