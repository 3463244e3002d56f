"""Each bundled server started as its own process over stdio, as the runtime will start it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.servers.helpers import call

REPO = Path(__file__).resolve().parents[2]


def _params(*args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", *args], cwd=str(REPO))


async def _tools_and_call(
    params: StdioServerParameters, tool: str, arguments: dict[str, object]
) -> tuple[list[str], tuple[bool, str]]:
    with anyio.fail_after(30):
        async with Client(params, mode="legacy") as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            return names, await call(client, tool, arguments)


@pytest.mark.anyio
@pytest.mark.parametrize("flags", [[], ["--read-only"]])
async def test_fs_server_runs_over_stdio_read_only_unless_writes_are_allowed(
    tmp_path: Path, flags: list[str]
) -> None:
    (tmp_path / "hello.txt").write_text("hi there\n")
    result = await _tools_and_call(
        _params("servers.fs", str(tmp_path), *flags), "read_file", {"path": "hello.txt"}
    )
    assert result == (
        ["list_allowed_directories", "list_directory", "read_file", "search_files", "file_info"],
        (False, "hi there\n"),
    )


@pytest.mark.anyio
async def test_fs_server_with_allow_writes_lists_and_runs_its_write_tools(tmp_path: Path) -> None:
    names, written = await _tools_and_call(
        _params("servers.fs", str(tmp_path), "--allow-writes"),
        "write_file",
        {"path": "new.txt", "content": "x"},
    )
    assert names[-2:] == ["write_file", "edit_file"]
    assert written[0] is False and (tmp_path / "new.txt").read_text() == "x"


@pytest.mark.anyio
async def test_sqlite_server_runs_over_stdio_and_answers_a_query(tmp_path: Path) -> None:
    db = tmp_path / "data.db"
    connection = sqlite3.connect(db)
    with connection:
        connection.execute("CREATE TABLE t (x INTEGER)")
        connection.execute("INSERT INTO t VALUES (41), (1)")
    connection.close()
    result = await _tools_and_call(
        _params("servers.sqlite", str(db)), "query", {"sql": "SELECT sum(x) AS s FROM t"}
    )
    assert result == (
        ["list_tables", "describe_table", "schema", "query"],
        (False, '{"columns": ["s"], "rows": [[42]], "row_count": 1}'),
    )


@pytest.mark.anyio
async def test_calc_server_runs_over_stdio_and_evaluates() -> None:
    result = await _tools_and_call(_params("servers.calc"), "evaluate", {"expression": "0.1 + 0.2"})
    assert result == (["evaluate"], (False, "0.3"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["servers.fs", "{tmp}/missing"],
            "servers.fs: error: allowed directory '{tmp}/missing' does not exist",
        ),
        (["servers.fs", "--bogus"], "servers.fs: error: unrecognized arguments: --bogus"),
        (
            ["servers.fs", "--allow-writes", "--read-only"],
            "servers.fs: error: argument --read-only: not allowed with argument --allow-writes",
        ),
        (
            ["servers.sqlite", "{tmp}/none.db"],
            "servers.sqlite: error: database file not found: {tmp}/none.db "
            "(pass --allow-writes to create it)",
        ),
        (["servers.sqlite"], "servers.sqlite: error: the following arguments are required: DB_PATH"),
        (
            ["servers.sqlite", "{tmp}/x.db", "--max-rows", "0"],
            "servers.sqlite: error: --max-rows must be at least 1",
        ),
        (["servers.calc", "extra"], "servers.calc: error: unrecognized arguments: extra"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_on_stderr(tmp_path: Path, args: list[str], message: str) -> None:
    argv = [arg.format(tmp=tmp_path) for arg in args]
    completed = subprocess.run(
        [sys.executable, "-m", *argv], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert (completed.returncode, completed.stdout, completed.stderr) == (
        2,
        "",
        message.format(tmp=tmp_path) + "\n",
    )
