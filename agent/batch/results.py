"""The results file of a batch: one JSON line per finished task, appended, never written twice.

Each line is ``{"id", "model", "attempt", "result", "metadata"}`` (``result``: the task's
``agent run --json`` object). Lines are written whole, a group at a time, each group flushed and
fsynced before the batch counts its tasks as written. On opening, the lines already there are
read (a line cut short by a crash is cut off), so a resumed or re-run batch appends only what
the file lacks: a line is known by its task id, model and attempt (a retried task adds a line).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agent import safe_json
from agent.errors import ConfigError

__all__ = ["ResultsFile", "line_key"]


def line_key(line: Mapping[str, Any]) -> tuple[str, str, int]:
    """What identifies a results line: (task id, model, attempt)."""
    attempt = line.get("attempt", 1)
    return str(line.get("id")), str(line.get("model")), attempt if isinstance(attempt, int) else 1


class ResultsFile:
    """An append-only JSONL file that knows which lines it holds.

    Raises:
        ConfigError: the file cannot be read or written (exit 2).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written: set[tuple[str, str, int]] = set()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the results file: {exc.strerror or exc}", source=str(path)
            ) from None
        try:
            self._load()
        except BaseException:
            os.close(self._fd)
            raise

    def _load(self) -> None:
        with open(self._fd, "rb", closefd=False) as handle:
            data = handle.read()
        complete = data.rfind(b"\n") + 1
        if complete < len(data):  # a line cut short by a crash: drop it, it is written again
            os.ftruncate(self._fd, complete)
        for raw in data[:complete].splitlines():
            try:
                value = safe_json.loads(raw)
            except ValueError:
                continue
            if isinstance(value, dict) and "id" in value:
                self.written.add(line_key(value))

    def __contains__(self, key: tuple[str, str, int]) -> bool:
        return key in self.written

    def write(self, lines: Iterable[Mapping[str, Any]]) -> int:
        """Append the lines not written yet, as one flushed and fsynced group; how many were new."""
        chunks: list[bytes] = []
        keys: list[tuple[str, str, int]] = []
        for line in lines:
            key = line_key(line)
            if key in self.written or key in keys:
                continue
            keys.append(key)
            chunks.append(_encode(line))
        if not chunks:
            return 0
        data = b"".join(chunks)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.fsync(self._fd)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the results file: {exc.strerror or exc}", source=str(self.path)
            ) from None
        self.written.update(keys)
        return len(keys)

    def close(self) -> None:
        """Close the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _encode(line: Mapping[str, Any]) -> bytes:
    """One line as UTF-8 JSON; text that is not valid Unicode (lone surrogates) is escaped instead."""
    text = json.dumps(line, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return json.dumps(line, separators=(",", ":")).encode("ascii") + b"\n"
