"""``agent run`` with each bundled server and with npm reference servers, as separate processes."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, last_tool_result, reply

NPM_BIN = Path(__file__).parents[2] / ".ci" / "npm" / "node_modules" / ".bin"


def npm_server(name: str) -> Path:
    """An npm reference server installed by .ci/run; required there, skipped elsewhere."""
    path = NPM_BIN / name
    if not path.exists() or shutil.which("node") is None:
        if os.environ.get("AGENT_REQUIRE_NPM_SERVERS"):
            pytest.fail(f"{path} is not installed (run .ci/run, which installs it with npm ci)")
        pytest.skip(f"{name} is not installed; .ci/run installs it")
    return path


def quote_last_result(request: dict[str, Any]) -> Any:
    return reply(f"result: {last_tool_result(request)}")


def test_calc_server_evaluates_exactly(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("evaluate", {"expression": "0.1 + 0.2"})), quote_last_result
    ) as server:
        done = run_agent_cli(
            "run", "add", "-s", "calc", "--json", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert done.code == 0, done.stderr
    assert done.json()["output"] == "result: 0.3"
    server.assert_clean()


def test_sqlite_server_answers_read_only_queries_and_refuses_writes(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE items (name TEXT, price REAL)")
        conn.executemany("INSERT INTO items VALUES (?, ?)", [("pen", 1.5), ("book", 12.0)])
    conn.close()

    def answer(request: dict[str, Any]) -> Any:
        results = [m["content"] for m in request["messages"] if m["role"] == "tool"]
        return reply(json.dumps(results))

    with ScriptedOpenRouter(
        reply(
            None,
            call("query", {"sql": "SELECT name FROM items ORDER BY price DESC"}),
            call("query", {"sql": "DELETE FROM items"}),
        ),
        answer,
    ) as server:
        done = run_agent_cli(
            "run",
            "list",
            "-s",
            f"sqlite:{db}",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    result = done.json()
    read, write = json.loads(result["output"])
    assert json.loads(read)["rows"] == [["book"], ["pen"]]
    assert [c["is_error"] for c in result["tool_calls"]] == [False, True]
    assert "read-only" in write.lower() or "not authorized" in write.lower()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (2,)
    conn.close()


def test_fs_server_refuses_paths_outside_its_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("top secret")
    with ScriptedOpenRouter(
        reply(None, call("read_file", {"path": "../secret.txt"})), quote_last_result
    ) as server:
        done = run_agent_cli(
            "run", "peek", "-s", "fs", "--json", env=agent_env(server.base_url, tmp_path), cwd=root
        )
    result = done.json()
    assert result["tool_calls"][0]["is_error"] is True
    assert "Access denied" in result["output"]
    assert "top secret" not in done.stdout


def test_npm_reference_filesystem_server_via_an_mcp_config_file(tmp_path: Path) -> None:
    server_bin = npm_server("mcp-server-filesystem")
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("hello from npm")
    config = tmp_path / "mcp.json"
    config.write_text(
        json.dumps({"mcpServers": {"files": {"command": str(server_bin), "args": [str(data)]}}}),
    )
    with ScriptedOpenRouter(
        reply(None, call("read_text_file", {"path": str(data / "hello.txt")})), quote_last_result
    ) as server:
        done = run_agent_cli(
            "run",
            "read it",
            "--mcp-config",
            str(config),
            "-s",
            "files",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["output"] == "result: hello from npm"
    assert (result["tool_calls"][0]["server"], result["tool_calls"][0]["tool"]) == ("files", "read_text_file")
    sent = {
        tool["function"]["name"]: tool["function"]["parameters"] for tool in server.chat_bodies[0]["tools"]
    }
    assert "$schema" not in sent["read_text_file"]
    server.assert_clean()


def test_npm_filesystem_server_as_a_command_line_alongside_a_bundled_one(tmp_path: Path) -> None:
    server_bin = npm_server("mcp-server-filesystem")
    (tmp_path / "a.txt").write_text("A")
    with ScriptedOpenRouter(
        reply(None, call("list_allowed_directories"), call("evaluate", {"expression": "6*7"})),
        lambda request: reply(" / ".join(m["content"] for m in request["messages"] if m["role"] == "tool")),
    ) as server:
        done = run_agent_cli(
            "run",
            "go",
            "-s",
            f"{server_bin} {tmp_path}",
            "-s",
            "calc",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    result = done.json()
    assert [(c["server"], c["tool"]) for c in result["tool_calls"]] == [
        ("mcp-server-filesystem", "list_allowed_directories"),
        ("calc", "evaluate"),
    ]
    assert result["output"].endswith(" / 42")
