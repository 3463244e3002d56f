"""SQLite access for the sqlite server: read-only enforced by SQLite itself, writes only when allowed.

Every call opens its own connection (which suits the worker threads tools run on), hardened by
:mod:`servers.sqlite_guard` (limits, read-only pragmas, an authorizer) and stopped by a progress
handler once it runs past the time limit.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from servers.sqlite_guard import Guard, harden, heap_limit
from servers.sqlite_results import MAX_RESULT_BYTES, rows_as_json

__all__ = ["Database", "SqlParam"]

SqlParam = str | int | float | bool | None


class Database:
    """One SQLite file, opened per call: read-only for inspection and ``query``, writable for ``execute``."""

    def __init__(
        self,
        path: str | Path,
        *,
        allow_writes: bool = False,
        max_rows: int = 500,
        max_result_bytes: int = MAX_RESULT_BYTES,
        timeout_seconds: float = 30.0,
    ) -> None:
        """Check the file is a usable SQLite database (creating it when writes are allowed).

        Raises:
            ValueError: The file is missing (without ``allow_writes``) or is not a SQLite database.
        """
        self.path = Path(path).expanduser().absolute()
        self.allow_writes = allow_writes
        self.max_rows = max_rows
        self.max_result_bytes = max_result_bytes
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
        with (
            closing(sqlite3.connect(uri, uri=True, timeout=5, isolation_level=None)) as connection,
            closing(harden(connection, read_only=not write)) as guard,
        ):
            deadline = time.monotonic() + self.timeout_seconds
            connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
            try:
                yield connection
            except sqlite3.Error as exc:
                raise ValueError(self._explain(exc, guard)) from exc
            except MemoryError as exc:
                limit = heap_limit()
                allowed = f" (SQLite may use {limit // 2**20} MiB in this server)" if limit else ""
                raise ValueError(
                    f"the statement ran out of memory{allowed}; select fewer or smaller values, or add LIMIT"
                ) from exc

    def _explain(self, exc: sqlite3.Error, guard: Guard) -> str:
        text = str(exc)
        denied = getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_AUTH or "not authorized" in text
        if text == "interrupted":
            return f"the statement ran longer than {self.timeout_seconds:g} s and was stopped"
        if guard.refusal is not None and (denied or "function raised exception" in text):
            return f"{guard.refusal} (SQLite: {text})"
        if text == "string or blob too big":
            return (
                f"a value would be larger than {guard.value_limit:,} bytes, the limit for one string or "
                f"blob; select part of it with substr() or its length() (SQLite: {text})"
            )
        if guard.read_only and (denied or "readonly" in text or "query_only" in text):
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
        """Run one read-only statement; JSON with columns and rows, within ``max_rows`` and the byte cap."""
        with self._connect(write=False) as connection:
            cursor = connection.execute(sql, tuple(params))
            return rows_as_json(cursor, max_rows=self.max_rows, max_bytes=self.max_result_bytes)

    def execute(self, sql: str, params: Sequence[SqlParam] = ()) -> str:
        """Run one statement that may write, committed at once; reports rows affected."""
        if not self.allow_writes:
            raise ValueError("writes are disabled; start the server with --allow-writes")
        with self._connect(write=True) as connection:
            cursor = connection.execute(sql, tuple(params))
            for _row in cursor:  # run RETURNING and the like to the end, keeping no rows
                pass
            affected, last_id = cursor.rowcount, cursor.lastrowid
        if affected < 0:
            return "Statement executed (it reports no row count)"
        message = f"{affected} row(s) affected"
        return f"{message}; last inserted rowid {last_id}" if last_id else message
