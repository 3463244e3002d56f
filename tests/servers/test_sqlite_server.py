from __future__ import annotations

import json
import re
import sqlite3
import threading
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.types import ToolAnnotations

from servers.sqlite import build_server, main
from servers.sqlite_db import Database
from tests.servers.helpers import call

pytestmark = pytest.mark.anyio

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, score REAL DEFAULT 0, avatar BLOB);
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), total INTEGER);
CREATE INDEX orders_by_user ON orders (user_id, total);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
INSERT INTO users (name, score, avatar)
    VALUES ('ada', 9.5, x'CAFE'), ('bob', 7, NULL), ('cy', 0, zeroblob(100));
INSERT INTO orders (user_id, total) VALUES (1, 50), (1, 150), (2, 300);
"""

READ_REFUSAL = (
    "Error executing tool query: query only runs read-only SQL (SELECT, WITH, read-only PRAGMA); "
    "this database is read-only (SQLite: not authorized)"
)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
    connection.close()
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


async def test_read_only_server_lists_inspection_tools_only(db: Path) -> None:
    async with Client(build_server(db)) as client:
        tools = {tool.name: tool.annotations for tool in (await client.list_tools()).tools}
    read = ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    assert tools == dict.fromkeys(["list_tables", "describe_table", "schema", "query"], read)


async def test_writable_server_adds_a_destructive_execute_tool(db: Path) -> None:
    async with Client(build_server(db, allow_writes=True)) as client:
        tools = {tool.name: tool.annotations for tool in (await client.list_tools()).tools}
    assert tools["execute"] == ToolAnnotations(
        read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
    )


async def test_list_tables_and_schema_show_tables_views_and_indexes(db: Path) -> None:
    async with Client(build_server(db)) as client:
        tables = await call(client, "list_tables")
        schema = await call(client, "schema")
    assert tables == (False, "big_orders (view)\norders (table)\nusers (table)")
    assert schema == (
        False,
        ";\n\n".join(
            [
                "CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), "
                "total INTEGER)",
                "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
                "score REAL DEFAULT 0, avatar BLOB)",
                "CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100",
                "CREATE INDEX orders_by_user ON orders (user_id, total);",
            ]
        ),
    )


async def test_describe_table_reports_columns_indexes_and_foreign_keys(db: Path) -> None:
    async with Client(build_server(db)) as client:
        is_error, text = await call(client, "describe_table", {"table": "orders"})
        missing = await call(client, "describe_table", {"table": "nope"})
    assert (is_error, json.loads(text)) == (
        False,
        {
            "table": "orders",
            "type": "table",
            "columns": [
                {"name": "id", "type": "INTEGER", "not_null": False, "default": None, "primary_key": 1},
                {"name": "user_id", "type": "INTEGER", "not_null": True, "default": None, "primary_key": 0},
                {"name": "total", "type": "INTEGER", "not_null": False, "default": None, "primary_key": 0},
            ],
            "indexes": [
                {"name": "orders_by_user", "unique": False, "origin": "c", "columns": ["user_id", "total"]}
            ],
            "foreign_keys": [{"column": "user_id", "references": "users(id)"}],
        },
    )
    assert missing == (
        True,
        "Error executing tool describe_table: no table or view named 'nope'; "
        "tables: big_orders, orders, users",
    )


async def test_query_returns_columns_rows_blobs_and_bound_parameters(db: Path) -> None:
    async with Client(build_server(db)) as client:
        users = await call(client, "query", {"sql": "SELECT name, score, avatar FROM users ORDER BY id"})
        bound = await call(
            client, "query", {"sql": "SELECT total FROM orders WHERE user_id = ?", "params": [1]}
        )
        pragma = await call(client, "query", {"sql": "PRAGMA user_version"})
    assert (users[0], json.loads(users[1])) == (
        False,
        {
            "columns": ["name", "score", "avatar"],
            "rows": [["ada", 9.5, "X'CAFE'"], ["bob", 7.0, None], ["cy", 0.0, "<blob of 100 bytes>"]],
            "row_count": 3,
        },
    )
    assert [bound[0], json.loads(bound[1])] == [
        False,
        {"columns": ["total"], "rows": [[50], [150]], "row_count": 2},
    ]
    assert [pragma[0], json.loads(pragma[1])] == [
        False,
        {"columns": ["user_version"], "rows": [[0]], "row_count": 1},
    ]


async def test_query_stops_at_the_row_limit_with_a_note(db: Path) -> None:
    async with Client(build_server(db, max_rows=2)) as client:
        is_error, text = await call(client, "query", {"sql": "SELECT id FROM orders ORDER BY id"})
    assert (is_error, json.loads(text)) == (
        False,
        {
            "columns": ["id"],
            "rows": [[1], [2]],
            "row_count": 2,
            "truncated": True,
            "note": "only the first 2 rows are shown; add WHERE, LIMIT/OFFSET or aggregate to see the rest",
        },
    )


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM users",
        "INSERT INTO users (name) VALUES ('eve')",
        "UPDATE users SET score = 0",
        "DROP TABLE orders",
        "CREATE TABLE t (x)",
        "CREATE TEMP TABLE t (x)",
        "PRAGMA query_only = 0",
        "PRAGMA user_version = 7",
        "ATTACH DATABASE 'other.db' AS other",
        "WITH doomed AS (SELECT 1) DELETE FROM users",
        "REPLACE INTO users (id, name) VALUES (1, 'x')",
    ],
)
async def test_query_refuses_every_kind_of_write(db: Path, sql: str) -> None:
    before = _rows(db, "SELECT * FROM users")
    async with Client(build_server(db, allow_writes=True)) as client:
        result = await call(client, "query", {"sql": sql})
    assert result == (
        True,
        READ_REFUSAL.replace("this database is read-only", "use the execute tool to change data"),
    )
    assert (_rows(db, "SELECT * FROM users"), _rows(db, "PRAGMA user_version")) == (before, [(0,)])
    assert not (db.parent / "other.db").exists()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELEC 1", 'SQL error: near "SELEC": syntax error'),
        ("SELECT 1; DELETE FROM users", "SQL error: You can only execute one statement at a time."),
        ("SELECT nope FROM users", "SQL error: no such column: nope"),
    ],
)
async def test_query_reports_sql_errors_in_one_line(db: Path, sql: str, message: str) -> None:
    async with Client(build_server(db)) as client:
        result = await call(client, "query", {"sql": sql})
    assert result == (True, f"Error executing tool query: {message}")


async def test_a_runaway_query_is_stopped_at_the_time_limit(db: Path) -> None:
    sql = "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT count(*) FROM r"
    async with Client(build_server(db, timeout_seconds=0.2)) as client:
        result = await call(client, "query", {"sql": sql})
    assert result == (True, "Error executing tool query: the statement ran longer than 0.2 s and was stopped")


async def test_execute_commits_writes_and_reports_rows_affected(db: Path) -> None:
    async with Client(build_server(db, allow_writes=True)) as client:
        results = [
            await call(client, "execute", {"sql": "INSERT INTO users (name) VALUES (?)", "params": ["eve"]}),
            await call(client, "execute", {"sql": "UPDATE users SET score = score + 1"}),
            await call(client, "execute", {"sql": "CREATE TABLE notes (body TEXT)"}),
            await call(client, "execute", {"sql": "INSERT INTO users (name) VALUES ('ada')"}),
        ]
    assert results == [
        (False, "1 row(s) affected; last inserted rowid 4"),
        (False, "4 row(s) affected"),
        (False, "Statement executed (it reports no row count)"),
        (True, "Error executing tool execute: SQL error: UNIQUE constraint failed: users.name"),
    ]
    assert _rows(db, "SELECT name, score FROM users ORDER BY id") == [
        ("ada", 10.5),
        ("bob", 8.0),
        ("cy", 1.0),
        ("eve", 1.0),
    ]


async def test_read_only_server_has_no_execute_tool_and_says_so_when_query_writes(db: Path) -> None:
    async with Client(build_server(db)) as client:
        result = await call(client, "execute", {"sql": "DELETE FROM users"})
        through_query = await call(client, "query", {"sql": "DELETE FROM users"})
    assert (result, through_query) == ((True, "Unknown tool: execute"), (True, READ_REFUSAL))
    assert len(_rows(db, "SELECT * FROM users")) == 3


def test_a_missing_database_is_a_start_up_error_unless_writes_are_allowed(tmp_path: Path) -> None:
    missing = tmp_path / "new.db"
    with pytest.raises(
        ValueError, match=re.escape(f"database file not found: {missing} (pass --allow-writes")
    ):
        build_server(missing)
    build_server(missing, allow_writes=True)
    assert missing.is_file()


def test_a_file_that_is_not_a_database_is_a_start_up_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("this is not sqlite " * 20)
    with pytest.raises(
        ValueError, match=re.escape(f"cannot open {bogus} as a SQLite database: file is not a database")
    ):
        build_server(bogus)


NATIVE_CODE_REFUSALS = {
    "SELECT fts3_tokenizer('simple')": "fts3_tokenizer() is disabled: it is a known way to run native code "
    "through SQL (SQLite: not authorized to use function: fts3_tokenizer)",
    "SELECT FTS3_TOKENIZER('simple', x'4141414141414141')": "fts3_tokenizer() is disabled: it is a known way "
    "to run native code through SQL (SQLite: not authorized to use function: FTS3_TOKENIZER)",
    "SELECT load_extension('/tmp/evil.so')": "load_extension() is disabled: it loads native code "
    "(SQLite: not authorized to use function: load_extension)",
}


@pytest.mark.parametrize("sql", list(NATIVE_CODE_REFUSALS))
async def test_functions_that_reach_native_code_are_refused_by_query_and_execute(db: Path, sql: str) -> None:
    async with Client(build_server(db, allow_writes=True)) as client:
        through_query = await call(client, "query", {"sql": sql})
        through_execute = await call(client, "execute", {"sql": sql})
    assert (through_query, through_execute) == (
        (True, f"Error executing tool query: {NATIVE_CODE_REFUSALS[sql]}"),
        (True, f"Error executing tool execute: {NATIVE_CODE_REFUSALS[sql]}"),
    )


@pytest.mark.parametrize(
    ("sql", "refusal"),
    [
        (
            "ATTACH DATABASE 'other.db' AS other",
            "ATTACH and VACUUM INTO are disabled: this server works on its one database file "
            "(SQLite: not authorized)",
        ),
        (
            "VACUUM INTO 'other.db'",
            "ATTACH and VACUUM INTO are disabled: this server works on its one database file "
            "(SQLite: authorization denied)",
        ),
        (
            "PRAGMA writable_schema = ON",
            "PRAGMA writable_schema is disabled: it lets SQL corrupt the database file "
            "(SQLite: not authorized)",
        ),
    ],
)
async def test_execute_refuses_other_files_and_schema_corruption_but_still_vacuums(
    db: Path, sql: str, refusal: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(db.parent)
    async with Client(build_server(db, allow_writes=True)) as client:
        refused = await call(client, "execute", {"sql": sql})
        vacuum = await call(client, "execute", {"sql": "VACUUM"})
    assert (refused, vacuum) == (
        (True, f"Error executing tool execute: {refusal}"),
        (False, "Statement executed (it reports no row count)"),
    )
    assert not (db.parent / "other.db").exists()


async def test_a_value_over_the_length_limit_is_refused_naming_the_limit(db: Path) -> None:
    async with Client(build_server(db)) as client:
        result = await call(client, "query", {"sql": "SELECT zeroblob(5e8) FROM users"})
    assert result == (
        True,
        "Error executing tool query: a value would be larger than 1,000,000 bytes, the limit for one string "
        "or blob; select part of it with substr() or its length() (SQLite: string or blob too big)",
    )


async def test_query_stops_fetching_at_the_byte_cap_with_a_note(db: Path) -> None:
    async with Client(build_server(db, max_result_bytes=450)) as client:
        is_error, text = await call(client, "query", {"sql": "SELECT hex(zeroblob(50)) AS h FROM users"})
    assert (is_error, json.loads(text)) == (
        False,
        {
            "columns": ["h"],
            "rows": [["0" * 100], ["0" * 100]],
            "row_count": 2,
            "truncated": True,
            "note": "the result was cut after 2 rows to stay under 450 bytes; "
            "select fewer or shorter columns (substr(), length()) or add LIMIT/OFFSET",
        },
    )


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT printf('%.*c', 1e8, 'x')",
            (
                True,
                "Error executing tool query: printf widths and precisions are limited to 100,000, "
                "got 100,000,000 (SQLite: user-defined function raised exception)",
            ),
        ),
        (
            "SELECT format('%2147483647c', 'x')",
            (
                True,
                "Error executing tool query: printf widths and precisions are limited to 100,000, "
                "got 2,147,483,647 (SQLite: user-defined function raised exception)",
            ),
        ),
        (
            "SELECT printf('%-*.*c|', '9e9', 1, 'x')",
            (
                True,
                "Error executing tool query: printf widths and precisions are limited to 100,000, "
                "got 9,000,000,000 (SQLite: user-defined function raised exception)",
            ),
        ),
        (
            "SELECT printf('%05.1f %d %.*c %s%%', 3.14159, 42, 3, 'x', name) AS p FROM users WHERE id = 1",
            (False, '{"columns": ["p"], "rows": [["003.1 42 xxx ada%"]], "row_count": 1}'),
        ),
    ],
)
async def test_printf_refuses_huge_widths_and_formats_everything_else(
    db: Path, sql: str, expected: tuple[bool, str]
) -> None:
    async with Client(build_server(db)) as client:
        result = await call(client, "query", {"sql": sql})
    assert result == expected


async def test_a_statement_stuck_past_its_time_limit_is_abandoned_and_others_still_answer(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def stuck(self: Database, sql: str, params: object = ()) -> str:
        release.wait(30)  # like one SQLite step that no progress handler can interrupt
        return "too late"

    monkeypatch.setattr(Database, "query", stuck)
    try:
        async with Client(build_server(db, timeout_seconds=0.2)) as client:
            with anyio.fail_after(10):
                result = await call(client, "query", {"sql": "SELECT 1"})
                tables = await call(client, "list_tables")
    finally:
        release.set()
    assert (result, tables) == (
        (
            True,
            "Error executing tool query: the statement ran longer than 0.2 s and could not be stopped "
            "in time; it was abandoned",
        ),
        (False, "big_orders (view)\norders (table)\nusers (table)"),
    )


async def test_unexpected_failures_and_running_out_of_memory_are_one_line_errors(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Database) -> str:
        raise RuntimeError("the schema reader broke\nsecond line")

    def out_of_memory(cursor: object, **limits: int) -> str:
        raise MemoryError

    monkeypatch.setattr(Database, "schema", broken)
    monkeypatch.setattr("servers.sqlite_db.rows_as_json", out_of_memory)
    async with Client(build_server(db)) as client:
        schema = await call(client, "schema")
        query = await call(client, "query", {"sql": "SELECT 1"})
    assert (schema, query) == (
        (True, "Error executing tool schema: unexpected error (RuntimeError: the schema reader broke)"),
        (
            True,
            "Error executing tool query: the statement ran out of memory; "
            "select fewer or smaller values, or add LIMIT",
        ),
    )


@pytest.mark.parametrize("timeout", ["0", "-1", "nan"])
def test_a_timeout_that_is_not_positive_is_a_one_line_usage_error(
    db: Path, timeout: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([str(db), "--timeout", timeout])
    assert (exited.value.code, capsys.readouterr().err) == (
        2,
        "servers.sqlite: error: --timeout must be more than 0 seconds\n",
    )
