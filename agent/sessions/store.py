"""The session store: one SQLite file in the user data directory.

A session is a conversation: one or more runs (``agent run``, ``--continue``, ``--resume``, a
chat), its messages exactly as they were sent (tool-call ids and ``reasoning_details``
included), its events (streamed text deltas left out: the messages hold the text), and its
model, servers, usage and cost. Writes are committed at each message, so a run killed at any
point leaves every message it had sent; the database runs in WAL mode.

Nothing secret is written: text is passed through :func:`agent.redaction.redact` with the
values the caller names (the API key, header values) before it reaches the file, which is
created 0600 in a 0700 directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
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
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"cannot open the session store: {exc}", source=str(self.path)) from exc
        self._in_transaction = False

    def close(self) -> None:
        """Commit what is pending and close the file."""
        self.commit()
        self._db.close()

    # -- writing ---------------------------------------------------------------------------

    def _clean(self, value: Any) -> str:
        return redact(json.dumps(value, ensure_ascii=False, separators=(",", ":")), self._secrets)

    def _begin(self) -> None:
        if not self._in_transaction:
            self._db.execute("BEGIN")
            self._in_transaction = True

    def commit(self) -> None:
        """Make what was written so far durable (called at each message)."""
        if self._in_transaction:
            self._db.execute("COMMIT")
            self._in_transaction = False

    def start_run(self, session_id: str, *, cwd: str, model: str, servers: Sequence[str], title: str) -> int:
        """Open run number N of ``session_id`` (creating the session at its first run); returns N."""
        now = _now()
        self._begin()
        row = self._db.execute("SELECT runs FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            self._db.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, 'running', 1, ?)",
                (
                    session_id,
                    now,
                    now,
                    cwd,
                    model,
                    json.dumps(list(servers)),
                    redact(" ".join(title.split())[:_TITLE_CHARS], self._secrets),
                    json.dumps({}),
                ),
            )
            run = 1
        else:
            run = int(row[0]) + 1
            self._db.execute(
                "UPDATE sessions SET runs = ?, updated = ?, status = 'running', model = ?, servers = ? "
                "WHERE id = ?",
                (run, now, model, json.dumps(list(servers)), session_id),
            )
        self.commit()
        return run

    def add_messages(
        self, session_id: str, run: int, first_seq: int, messages: Sequence[dict[str, Any]]
    ) -> None:
        """Store ``messages`` as numbers ``first_seq``, ``first_seq + 1``, ... and commit."""
        if not messages:
            return
        self._begin()
        self._db.executemany(
            "INSERT OR REPLACE INTO messages VALUES (?, ?, ?, ?)",
            [(session_id, first_seq + n, run, self._clean(m)) for n, m in enumerate(messages)],
        )
        self._db.execute("UPDATE sessions SET updated = ? WHERE id = ?", (_now(), session_id))
        self.commit()

    def add_event(self, session_id: str, run: int, seq: int, event: dict[str, Any]) -> None:
        """Store one event (committed with the next message, or :meth:`commit`)."""
        self._begin()
        self._db.execute(
            "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?)", (session_id, run, seq, self._clean(event))
        )

    def finish_run(self, session_id: str, *, status: str, model: str, usage: dict[str, Any]) -> None:
        """Record how the run ended, add its ``usage`` to the session's, and commit."""
        self._begin()
        row = self._db.execute("SELECT usage FROM sessions WHERE id = ?", (session_id,)).fetchone()
        usage = _added(json.loads(row[0]) if row else {}, usage)
        self._db.execute(
            "UPDATE sessions SET status = ?, model = ?, usage = ?, updated = ? WHERE id = ?",
            (status, model, json.dumps(usage), _now(), session_id),
        )
        self.commit()

    def delete(self, session_id: str) -> None:
        """Remove the session with its messages and events."""
        self._begin()
        self._db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        self.commit()

    # -- reading ---------------------------------------------------------------------------

    def sessions(self, *, cwd: str | None = None, limit: int | None = None) -> list[SessionInfo]:
        """Sessions, most recently updated first (only those of ``cwd`` when given)."""
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
        rows = self._db.execute(
            "SELECT seq, run, message FROM messages WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        return [StoredMessage(int(seq), int(run), json.loads(text)) for seq, run, text in rows]

    def events(self, session_id: str) -> list[tuple[int, dict[str, Any]]]:
        """(run, event) pairs in order."""
        rows = self._db.execute(
            "SELECT run, event FROM events WHERE session_id = ? ORDER BY run, seq", (session_id,)
        )
        return [(int(run), json.loads(text)) for run, text in rows]


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
