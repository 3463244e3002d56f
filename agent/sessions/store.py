"""The session store: one SQLite file in the user data directory.

A session is a conversation: one or more runs (``agent run``, ``--continue``, ``--resume``, a
chat), its messages exactly as they were sent (tool-call ids and ``reasoning_details``
included), its events (streamed text deltas left out: the messages hold the text), and its
model, servers, usage and cost. Writes go to a thread of the store's own, which commits them in
batches as they come (the messages of a turn within milliseconds, without the run waiting on the
disk), so a run killed at any point leaves the messages it had sent; WAL mode.

Nothing secret is written: text is passed through :func:`agent.redaction.redact` with the
values the caller names (the API key, header values) before it reaches the file, which is
created 0600 in a 0700 directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.errors import ConfigError
from agent.redaction import redact

__all__ = ["SessionInfo", "SessionStore", "StoredMessage", "new_session_id"]

_FILE_NAME = "sessions.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    cwd TEXT NOT NULL,
    model TEXT NOT NULL,
    servers TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    runs INTEGER NOT NULL,
    usage TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_cwd ON sessions (cwd, updated);
CREATE TABLE IF NOT EXISTS messages (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    run INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    run INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (session_id, run, seq)
);
"""
_TITLE_CHARS = 80
_BATCH = 256
"""Writes committed together at most (the writes of concurrent runs queue up together)."""
_STOP = object()
_TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _now() -> str:
    """ISO 8601 UTC to the microsecond: sessions are ordered by it."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def new_session_id() -> str:
    """A fresh session id (a UUID4 in its usual text form)."""
    return str(uuid.uuid4())


@dataclass(frozen=True)
class SessionInfo:
    """One session as listed: what it is, where and when it ran, what it cost."""

    id: str
    created: str
    updated: str
    cwd: str
    model: str
    servers: list[str]
    title: str
    status: str
    runs: int
    usage: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The session as ``agent sessions list --json`` shows it."""
        return {
            "id": self.id,
            "created": self.created,
            "updated": self.updated,
            "cwd": self.cwd,
            "model": self.model,
            "servers": self.servers,
            "title": self.title,
            "status": self.status,
            "runs": self.runs,
            "usage": self.usage,
        }


@dataclass(frozen=True)
class StoredMessage:
    """A message of a session as stored: its place, the run that sent it, its JSON object."""

    seq: int
    run: int
    message: dict[str, Any]


class SessionStore:
    """The sessions of one user, in ``<data dir>/sessions.db``.

    Args:
        directory: the user data directory.
        secrets: values that must never be written (API keys, header values).

    Raises:
        ConfigError: the store cannot be opened (one line naming the file).
    """

    def __init__(self, directory: Path, *, secrets: Iterable[str | None] = ()) -> None:
        self.path = directory / _FILE_NAME
        self._secrets = tuple(s for s in secrets if s)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = _connect(self.path)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the session store: {exc}", source=str(self.path)) from exc
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self.failure: str | None = None
        """Why a write failed, if one did (the first failure; later writes are still tried)."""

    def close(self) -> None:
        """Write what is pending and close the file."""
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join()
            self._writer = None
        self._db.close()

    # -- writing: in a thread of its own, in batches, so a run never waits for the disk -----

    def _submit(self, write: Callable[[sqlite3.Connection], None]) -> None:
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_batches, name="agent-sessions", daemon=True)
            self._writer.start()
        self._queue.put(write)

    def flush(self) -> None:
        """Wait until everything submitted so far is written (and readable)."""
        if self._writer is not None:
            done = threading.Event()
            self._queue.put(done)
            done.wait()

    def _write_batches(self) -> None:
        db = _connect(self.path)
        try:
            stop = False
            while not stop:
                batch = [self._queue.get()]
                with contextlib.suppress(queue.Empty):
                    while len(batch) < _BATCH:
                        batch.append(self._queue.get_nowait())
                waiting = [item for item in batch if isinstance(item, threading.Event)]
                stop = any(item is _STOP for item in batch)
                writes = [item for item in batch if callable(item) and not isinstance(item, threading.Event)]
                self._write(db, writes)
                for done in waiting:
                    done.set()
        finally:
            db.close()

    def _write(self, db: sqlite3.Connection, writes: Sequence[Callable[[sqlite3.Connection], None]]) -> None:
        if not writes:
            return
        try:
            db.execute("BEGIN")
            for write in writes:
                write(db)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if self.failure is None:
                self.failure = f"cannot write the session store {self.path}: {exc}"

    def start_run(
        self, session_id: str, run: int, *, cwd: str, model: str, servers: Sequence[str], title: str
    ) -> None:
        """Open run number ``run`` of ``session_id`` (creating the session at its first run)."""
        now = _now()
        listed = json.dumps(list(servers))
        shown = redact(" ".join(title.split())[:_TITLE_CHARS], self._secrets)

        def write(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR IGNORE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, '{}')",
                (session_id, now, now, cwd, model, listed, shown, run),
            )
            db.execute(
                "UPDATE sessions SET runs = ?, updated = ?, status = 'running', model = ?, servers = ? "
                "WHERE id = ?",
                (run, now, model, listed, session_id),
            )

        self._submit(write)

    def save(
        self,
        session_id: str,
        run: int,
        *,
        first_seq: int = 1,
        messages: Sequence[str] = (),
        events: Sequence[tuple[int, str]] = (),
    ) -> None:
        """Store messages (JSON texts numbered from ``first_seq``) and events ((seq, JSON text))."""
        if not messages and not events:
            return
        secrets = self._secrets

        def write(db: sqlite3.Connection) -> None:  # redacted here too: off the run's thread
            if events:
                rows = [(session_id, run, seq, redact(text, secrets)) for seq, text in events]
                db.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?)", rows)
            if messages:
                numbered = enumerate(messages)
                rows = [(session_id, first_seq + n, run, redact(text, secrets)) for n, text in numbered]
                db.executemany("INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?)", rows)

        self._submit(write)

    def finish_run(self, session_id: str, *, status: str, model: str, usage: dict[str, Any]) -> None:
        """Record how the run ended and add its ``usage`` to the session's."""
        now = _now()

        def write(db: sqlite3.Connection) -> None:
            row = db.execute("SELECT usage FROM sessions WHERE id = ?", (session_id,)).fetchone()
            total = _added(json.loads(row[0]) if row else {}, usage)
            db.execute(
                "UPDATE sessions SET status = ?, model = ?, usage = ?, updated = ? WHERE id = ?",
                (status, model, json.dumps(total), now, session_id),
            )

        self._submit(write)

    def delete(self, session_id: str) -> None:
        """Remove the session with its messages and events."""

        def write(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

        self._submit(write)
        self.flush()

    # -- reading ---------------------------------------------------------------------------

    def sessions(self, *, cwd: str | None = None, limit: int | None = None) -> list[SessionInfo]:
        """Sessions, most recently updated first (only those of ``cwd`` when given)."""
        self.flush()
        query = "SELECT * FROM sessions"
        params: list[Any] = []
        if cwd is not None:
            query += " WHERE cwd = ?"
            params.append(cwd)
        query += " ORDER BY updated DESC, rowid DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        return [_info(row) for row in self._db.execute(query, params)]

    def find(self, ref: str) -> SessionInfo:
        """The session whose id is ``ref`` or starts with it.

        Raises:
            ConfigError: none does, or more than one does.
        """
        self.flush()
        ref = ref.strip()
        rows = []
        if ref:
            pattern = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            rows = self._db.execute(
                "SELECT * FROM sessions WHERE id LIKE ? ESCAPE '\\' LIMIT 2", (pattern,)
            ).fetchall()
        if not rows:
            raise ConfigError(f"no session {ref!r} (agent sessions list shows them)", source="session")
        if len(rows) > 1:
            raise ConfigError(f"{ref!r} names more than one session; give more of its id", source="session")
        return _info(rows[0])

    def messages(self, session_id: str) -> list[StoredMessage]:
        """The session's messages, in order."""
        self.flush()
        rows = self._db.execute(
            "SELECT seq, run, message FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        return [StoredMessage(int(seq), int(run), json.loads(text)) for seq, run, text in rows]

    def events(self, session_id: str) -> list[tuple[int, dict[str, Any]]]:
        """(run, event) pairs in order."""
        self.flush()
        rows = self._db.execute(
            "SELECT run, event FROM events WHERE session_id = ? ORDER BY run, seq", (session_id,)
        )
        return [(int(run), json.loads(text)) for run, text in rows]


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=5000")
    return db


def _added(total: dict[str, Any], usage: dict[str, Any]) -> dict[str, Any]:
    """Two usage objects summed (a cost unknown in both stays unknown)."""
    summed: dict[str, Any] = {k: int(total.get(k) or 0) + int(usage.get(k) or 0) for k in _TOKEN_FIELDS}
    costs = [c for c in (total.get("cost"), usage.get("cost")) if c is not None]
    summed["cost"] = sum(costs) if costs else None
    return summed


def _info(row: Sequence[Any]) -> SessionInfo:
    sid, created, updated, cwd, model, servers, title, status, runs, usage = row
    return SessionInfo(
        sid, created, updated, cwd, model, json.loads(servers), title, status, int(runs), json.loads(usage)
    )
