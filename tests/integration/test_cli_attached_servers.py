"""Configured servers are attached as users expect: all enabled ones by default, some, or none."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from agent.config.paths import bundled_config_dir
from tests.integration.cli_helpers import agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, reply


def write_mcp(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "math": {"command": sys.executable, "args": ["-P", "-m", "servers.calc"]},
                    "files": {
                        "command": "${AGENT_PYTHON}",
                        "args": ["-P", "-m", "servers.fs", str(path.parent)],
                    },
                    "db": {"command": "never-started", "disabled": True},
                }
            }
        )
    )
    return path


def test_an_mcp_config_without_server_flags_attaches_every_enabled_server(tmp_path: Path) -> None:
    mcp = write_mcp(tmp_path / "mcp.json")
    with ScriptedOpenRouter(reply("ok")) as server:
        done = run_agent_cli(
            "run",
            "hi",
            "--mcp-config",
            str(mcp),
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    assert done.json()["servers"] == [
        {"name": "math", "status": "active", "tools": 1, "error": None},
        {"name": "files", "status": "active", "tools": 5, "error": None},
        {"name": "db", "status": "disabled", "tools": 0, "error": None},
    ]
    assert "servers: math (1 tool), files (5 tools), db (disabled)" in done.stderr.splitlines()
    assert {t["function"]["name"] for t in server.chat_bodies[0]["tools"]} >= {"evaluate", "read_file"}


def test_server_flags_pick_configured_servers_and_add_bundled_ones(tmp_path: Path) -> None:
    mcp = write_mcp(tmp_path / "mcp.json")
    with ScriptedOpenRouter(reply("ok")) as server:
        done = run_agent_cli(
            "run", "hi", "--mcp-config", str(mcp), "-s", "math", "-s", "fs", "--json",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.code == 0, done.stderr
    assert [(s["name"], s["status"]) for s in done.json()["servers"]] == [
        ("math", "active"),
        ("fs", "active"),
    ]


def test_naming_a_disabled_server_says_it_is_disabled(tmp_path: Path) -> None:
    mcp = write_mcp(tmp_path / "mcp.json")
    with ScriptedOpenRouter() as server:
        done = run_agent_cli(
            "run",
            "hi",
            "--mcp-config",
            str(mcp),
            "-s",
            "db",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr == (
        f"error: --server: server 'db' is disabled in {mcp}; remove its \"disabled\": true to use it\n"
    )


def test_no_servers_attaches_none_even_with_a_config(tmp_path: Path) -> None:
    mcp = write_mcp(tmp_path / "mcp.json")
    with ScriptedOpenRouter(reply("ok")) as server:
        done = run_agent_cli(
            "run", "hi", "--mcp-config", str(mcp), "--no-servers", "--json",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert (done.code, done.json()["servers"]) == (0, [])
    assert "tools" not in server.chat_bodies[0]


def test_a_failed_server_is_reported_in_the_json_so_a_script_sees_it_was_lost(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("ok")) as server:
        done = run_agent_cli(
            "run", "hi", "-s", f"{sys.executable} -c 'raise SystemExit(3)'", "--json",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.code == 0
    [report] = done.json()["servers"]
    assert (report["status"], report["tools"]) == ("failed", 0)
    assert report["error"]


def test_the_shipped_example_config_works_as_shipped(tmp_path: Path) -> None:
    bundled = bundled_config_dir()
    assert bundled is not None
    env = agent_env(None, tmp_path)
    user = Path(env["AGENT_CONFIG_DIR"])
    user.mkdir(parents=True)
    shutil.copy(bundled / "mcp.example.json", user / "mcp.json")
    (tmp_path / "notes.txt").write_text("ship it\n")
    with ScriptedOpenRouter(reply("ok")) as server:
        env["OPENROUTER_BASE_URL"] = server.base_url
        done = run_agent_cli("run", "hi", "--json", env=env, cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert [(s["name"], s["status"]) for s in done.json()["servers"]] == [
        ("notes", "active"),
        ("scratch", "disabled"),
        ("db", "disabled"),
        ("everything", "disabled"),
        ("remote", "disabled"),
        ("signed-in", "disabled"),
    ]
    tools = {t["function"]["name"] for t in server.chat_bodies[0]["tools"]}
    assert "read_file" in tools and "write_file" not in tools  # read-only: no --allow-writes


def test_agent_h_shows_the_help(tmp_path: Path) -> None:
    done = run_agent_cli("-h", env=agent_env(None, tmp_path), cwd=tmp_path)
    assert done.code == 0
    assert "Usage: agent" in done.stdout
