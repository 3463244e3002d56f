"""SQLite access for the sqlite server: read-only enforced by SQLite itself, writes only when allowed.

Reads open the file with ``mode=ro``, set ``PRAGMA query_only`` and install an authorizer that
permits only reading actions, so a write cannot slip through however the SQL is spelled. Every
call opens its own connection, which suits the worker threads tools run on.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Database", "SqlParam"]

SqlParam = str | int | float | bool | None

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
_MAX_BLOB_SHOWN = 64


def _read_only_authorizer(
    action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None
) -> int:
    """Allow reads only (``pragma_*`` table functions report schema lookups as schema updates)."""
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or (arg1 or "").lower() in _PRAGMAS_WITH_ARGUMENT):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and arg1 in _SCHEMA_TABLES:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        if len(value) <= _MAX_BLOB_SHOWN:
            return f"X'{value.hex().upper()}'"
        return f"<blob of {len(value)} bytes>"
    return value


class Database:
    """One SQLite file, opened per call: read-only for inspection and ``query``, writable for ``execute``."""

    def __init__(
        self,
        path: str | Path,
        *,
        allow_writes: bool = False,
        max_rows: int = 500,
        timeout_seconds: float = 30.0,
    ) -> None:
        """Check the file is a usable SQLite database (creating it when writes are allowed).

        Raises:
            ValueError: The file is missing (without ``allow_writes``) or is not a SQLite database.
        """
        self.path = Path(path).expanduser().absolute()
        self.allow_writes = allow_writes
        self.max_rows = max_rows
        self.timeout_seconds = timeout_seconds
        if not allow_writes and not self.path.is_file():
            raise ValueError(f"database file not found: {self.path} (pass --allow-writes to create it)")
        try:
            with self._connect(write=allow_writes) as connection:
                connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except (sqlite3.Error, ValueError) as exc:
            reason = exc.__cause__ if isinstance(exc.__cause__, sqlite3.Error) else exc
            raise ValueError(f"cannot open {self.path} as a SQLite database: {reason}") from exc

    def __repr__(self) -> str:
        return f"Database(path={str(self.path)!r}, allow_writes={self.allow_writes})"

    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        uri = self.path.as_uri() + ("?mode=rwc" if write else "?mode=ro")
        with closing(sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)) as connection:
            deadline = time.monotonic() + self.timeout_seconds
            connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            if not write:
                connection.execute("PRAGMA query_only = ON")
                connection.set_authorizer(_read_only_authorizer)
            try:
                yield connection
            except sqlite3.Error as exc:
                raise ValueError(self._explain(exc, write=write)) from exc

    def _explain(self, exc: sqlite3.Error, *, write: bool) -> str:
        text = str(exc)
        if text == "interrupted":
            return f"the statement ran longer than {self.timeout_seconds:g} s and was stopped"
        if not write and ("not authorized" in text or "readonly" in text or "query_only" in text):
            hint = (
                "use the execute tool to change data" if self.allow_writes else "this database is read-only"
            )
            return f"query only runs read-only SQL (SELECT, WITH, read-only PRAGMA); {hint} (SQLite: {text})"
        return f"SQL error: {text}"

    def list_tables(self) -> str:
        """Tables and views, one ``name (type)`` per line."""
        with self._connect(write=False) as connection:
            rows = connection.execute(
                "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        if not rows:
            return "(no tables)"
        return "\n".join(f"{name} ({kind})" for name, kind in rows)

    def describe_table(self, table: str) -> str:
        """Columns (type, not null, default, primary key), indexes and foreign keys of a table, as JSON."""
        with self._connect(write=False) as connection:
            kinds = dict(
                connection.execute(
                    "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"
                ).fetchall()
            )
            if table not in kinds:
                known = ", ".join(sorted(name for name in kinds if not name.startswith("sqlite_"))) or "none"
                raise ValueError(f"no table or view named {table!r}; tables: {known}")
            columns = [
                {"name": name, "type": kind, "not_null": bool(notnull), "default": default, "primary_key": pk}
                for _cid, name, kind, notnull, default, pk, _hidden in connection.execute(
                    "SELECT * FROM pragma_table_xinfo(?)", (table,)
                )
            ]
            indexes = [
                {
                    "name": name,
                    "unique": bool(unique),
                    "origin": origin,
                    "columns": [
                        column
                        for (column,) in connection.execute(
                            "SELECT name FROM pragma_index_info(?) ORDER BY seqno", (name,)
                        )
                    ],
                }
                for _seq, name, unique, origin, _partial in connection.execute(
                    "SELECT * FROM pragma_index_list(?)", (table,)
                )
            ]
            foreign_keys = [
                {"column": column, "references": f"{target}({target_column})"}
                for _id, _seq, target, column, target_column, *_rest in connection.execute(
                    "SELECT * FROM pragma_foreign_key_list(?)", (table,)
                )
            ]
        description = {
            "table": table,
            "type": kinds[table],
            "columns": columns,
            "indexes": indexes,
            "foreign_keys": foreign_keys,
        }
        return json.dumps(description)

    def schema(self) -> str:
        """Every CREATE statement in the database, separated by blank lines."""
        with self._connect(write=False) as connection:
            statements = [
                sql
                for (sql,) in connection.execute(
                    "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
                    "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'view' THEN 1 ELSE 2 END, name"
                )
            ]
        return ";\n\n".join(statements) + ";" if statements else "(empty database: no tables)"

    def query(self, sql: str, params: Sequence[SqlParam] = ()) -> str:
        """Run one read-only statement; JSON with columns and up to ``max_rows`` rows."""
        with self._connect(write=False) as connection:
            cursor = connection.execute(sql, tuple(params))
            columns = [column[0] for column in cursor.description or ()]
            rows = cursor.fetchmany(self.max_rows + 1)
        result: dict[str, Any] = {
            "columns": columns,
            "rows": [[_json_value(value) for value in row] for row in rows[: self.max_rows]],
            "row_count": min(len(rows), self.max_rows),
        }
        if len(rows) > self.max_rows:
            result["truncated"] = True
            result["note"] = (
                f"only the first {self.max_rows} rows are shown; "
                "add WHERE, LIMIT/OFFSET or aggregate to see the rest"
            )
        return json.dumps(result, ensure_ascii=False)

    def execute(self, sql: str, params: Sequence[SqlParam] = ()) -> str:
        """Run one statement that may write, committed at once; reports rows affected."""
        if not self.allow_writes:
            raise ValueError("writes are disabled; start the server with --allow-writes")
        with self._connect(write=True) as connection:
            cursor = connection.execute(sql, tuple(params))
            if cursor.description:
                cursor.fetchall()
            affected, last_id = cursor.rowcount, cursor.lastrowid
        if affected < 0:
            return "Statement executed (it reports no row count)"
        message = f"{affected} row(s) affected"
        return f"{message}; last inserted rowid {last_id}" if last_id else message
