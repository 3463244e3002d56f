"""Attacks on the read-only sqlite server, replayed over stdio against the real server process.

A read-only query once took 2.9 GB (``zeroblob(5e8)`` over five rows), ``printf('%.*c', 1e8,
'x')`` never answered, and ``fts3_tokenizer``, a known code-execution primitive, was accepted.
Now each is refused in one line naming the limit, and ``SELECT 1`` made at the same time
answers promptly.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.security.alongside import attack_alongside

pytestmark = pytest.mark.anyio

PREFIX = "Error executing tool query: "
INNOCENT = (False, '{"columns": ["1"], "rows": [[1]], "row_count": 1}')


@pytest.fixture
def five_rows(tmp_path: Path) -> Path:
    path = tmp_path / "five.db"
    connection = sqlite3.connect(path)
    with connection:
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(5)])
    connection.close()
    return path


async def _attack_alongside_an_innocent_call(
    db: Path, sql: str, *options: str
) -> tuple[tuple[bool, str], tuple[bool, str]]:
    """Send the attack, then ``SELECT 1`` while it runs; both must answer within ``PROMPT`` seconds."""
    return await attack_alongside(
        ["servers.sqlite", str(db), *options], "query", {"sql": sql}, {"sql": "SELECT 1"}
    )


@pytest.mark.parametrize(
    ("sql", "refusal"),
    [
        (
            "SELECT zeroblob(5e8) FROM t",
            "a value would be larger than 1,000,000 bytes, the limit for one string or blob; "
            "select part of it with substr() or its length() (SQLite: string or blob too big)",
        ),
        (
            "SELECT printf('%.*c', 1e8, 'x') FROM t",
            "printf widths and precisions are limited to 100,000, got 100,000,000 "
            "(SQLite: user-defined function raised exception)",
        ),
        (
            "SELECT printf('%.*c', 2147483647, 'x')",
            "printf widths and precisions are limited to 100,000, got 2,147,483,647 "
            "(SQLite: user-defined function raised exception)",
        ),
        (
            "SELECT fts3_tokenizer('simple')",
            "fts3_tokenizer() is disabled: it is a known way to run native code through SQL "
            "(SQLite: not authorized to use function: fts3_tokenizer)",
        ),
        (
            "SELECT " + ", ".join(["hex(zeroblob(400000))"] * 700),
            "the statement ran out of memory (SQLite may use 256 MiB in this server); "
            "select fewer or smaller values, or add LIMIT",
        ),
    ],
)
async def test_a_hostile_query_is_refused_in_one_line_while_select_1_answers(
    five_rows: Path, sql: str, refusal: str
) -> None:
    attack, innocent = await _attack_alongside_an_innocent_call(five_rows, sql)
    assert (attack, innocent) == ((True, PREFIX + refusal), INNOCENT)


async def test_a_runaway_query_is_stopped_at_the_time_limit_while_select_1_answers(five_rows: Path) -> None:
    sql = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    attack, innocent = await _attack_alongside_an_innocent_call(five_rows, sql, "--timeout", "1")
    assert (attack, innocent) == (
        (True, PREFIX + "the statement ran longer than 1 s and was stopped"),
        INNOCENT,
    )


async def test_huge_rows_are_cut_at_the_byte_cap_instead_of_fetched_while_select_1_answers(
    five_rows: Path,
) -> None:
    attack, innocent = await _attack_alongside_an_innocent_call(
        five_rows, "SELECT hex(zeroblob(50000)) FROM t"
    )
    is_error, text = attack
    result = json.loads(text)
    assert (is_error, result["row_count"], [len(cell) for (cell,) in result["rows"]], result["note"]) == (
        False,
        2,
        [100_000, 100_000],
        "the result was cut after 2 rows to stay under 262,144 bytes; "
        "select fewer or shorter columns (substr(), length()) or add LIMIT/OFFSET",
    )
    assert innocent == INNOCENT
