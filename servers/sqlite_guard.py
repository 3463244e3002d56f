"""Hardening for each SQLite connection: size limits and an authorizer that refuses dangerous SQL.

Reads are enforced by SQLite itself: the file is opened ``mode=ro``, ``PRAGMA query_only`` is on
and the authorizer permits only reading actions. In both modes the authorizer refuses the
functions that reach native code (``fts3_tokenizer``, a known code-execution primitive, and
``load_extension``) and opening other files as databases (ATTACH, VACUUM INTO). Limits bound any
one value, the SQL text and LIKE/GLOB patterns, because a single SQLite function on a huge value
(``instr``, ``replace``, ``LIKE``) runs as one step that no progress handler can interrupt; for
the same reason ``printf`` is replaced by one that refuses huge widths (:mod:`servers.sqlite_printf`).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from servers.sqlite_printf import install_printf

__all__ = [
    "MAX_LIKE_PATTERN",
    "MAX_SQL_CHARS",
    "MAX_VALUE_BYTES",
    "MAX_WRITE_VALUE_BYTES",
    "PROCESS_HEAP_BYTES",
    "Guard",
    "harden",
    "heap_limit",
    "limit_process_heap",
]

MAX_VALUE_BYTES = 1_000_000  # any string or blob a read builds; quadratic functions stay at seconds
MAX_WRITE_VALUE_BYTES = 100_000_000  # writes must still rewrite rows that hold large stored values
MAX_SQL_CHARS = 100_000
MAX_LIKE_PATTERN = 1000  # LIKE/GLOB cost grows with text length times pattern length
PROCESS_HEAP_BYTES = 256 * 1024 * 1024

_READ_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
}
_PRAGMAS_WITH_ARGUMENT = {
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
}
_SCHEMA_TABLES = {"sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema"}
_DENIED_FUNCTIONS = {
    "fts3_tokenizer": "fts3_tokenizer() is disabled: it is a known way to run native code through SQL",
    "load_extension": "load_extension() is disabled: it loads native code",
}
_ATTACH_REFUSAL = "ATTACH and VACUUM INTO are disabled: this server works on its one database file"
_WRITABLE_SCHEMA_REFUSAL = "PRAGMA writable_schema is disabled: it lets SQL corrupt the database file"


class Guard:
    """The authorizer of one connection, remembering why it last refused so errors can say so.

    Attributes:
        read_only: Whether only reading actions are allowed.
        value_limit: The most bytes any one string or blob may have.
        refusal: The reason for the last specific refusal, or None (a plain read-only refusal).
    """

    def __init__(self, *, read_only: bool, value_limit: int) -> None:
        self.read_only = read_only
        self.value_limit = value_limit
        self.refusal: str | None = None
        self._helper: sqlite3.Connection | None = None

    def authorize(
        self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None
    ) -> int:
        """SQLite's authorizer callback: ``SQLITE_OK`` or ``SQLITE_DENY`` for one action."""
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
            return self._deny(_DENIED_FUNCTIONS[(arg2 or "").lower()])
        if self.read_only:
            return _read_only_decision(action, arg1, arg2)
        if action == sqlite3.SQLITE_ATTACH and arg1:  # VACUUM attaches "" (a temporary file) itself
            return self._deny(_ATTACH_REFUSAL)
        if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() == "writable_schema" and arg2 is not None:
            return self._deny(_WRITABLE_SCHEMA_REFUSAL)
        return sqlite3.SQLITE_OK

    def refuse(self, reason: str) -> None:
        """Record why the statement is being refused."""
        self.refusal = reason

    def helper(self) -> sqlite3.Connection:
        """A private in-memory connection (same limits) for built-ins replaced on the guarded one."""
        if self._helper is None:
            self._helper = sqlite3.connect(":memory:", isolation_level=None)
            self._helper.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.value_limit)
        return self._helper

    def close(self) -> None:
        """Close the helper connection, if one was opened."""
        if self._helper is not None:
            self._helper.close()
            self._helper = None

    def _deny(self, reason: str) -> int:
        self.refuse(reason)
        return sqlite3.SQLITE_DENY


def _read_only_decision(action: int, arg1: str | None, arg2: str | None) -> int:
    """Allow reads only (``pragma_*`` table functions report schema lookups as schema updates)."""
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or (arg1 or "").lower() in _PRAGMAS_WITH_ARGUMENT):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and arg1 in _SCHEMA_TABLES:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def harden(connection: sqlite3.Connection, *, read_only: bool) -> Guard:
    """Set the limits, read-only pragmas, authorizer and checked ``printf`` on a fresh connection.

    Returns:
        The connection's guard; close it with the connection.
    """
    value_limit = MAX_VALUE_BYTES if read_only else MAX_WRITE_VALUE_BYTES
    connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, value_limit)
    connection.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_CHARS)
    connection.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_LIKE_PATTERN)
    if read_only:
        connection.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        connection.execute("PRAGMA temp_store = MEMORY")  # sorts spill to the capped heap, not the disk
        connection.execute("PRAGMA query_only = ON")
    guard = Guard(read_only=read_only, value_limit=value_limit)
    connection.set_authorizer(guard.authorize)
    install_printf(connection, guard.helper, guard.refuse)
    return guard


def limit_process_heap(limit_bytes: int = PROCESS_HEAP_BYTES) -> None:
    """Cap the memory SQLite may use in this whole process; a server calls it once at start-up."""
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.execute(f"PRAGMA hard_heap_limit = {int(limit_bytes)}")


def heap_limit() -> int:
    """The process-wide SQLite heap limit in bytes, or 0 when there is none."""
    with closing(sqlite3.connect(":memory:")) as connection:
        (limit,) = connection.execute("PRAGMA hard_heap_limit").fetchone()
    return int(limit)
