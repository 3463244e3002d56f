"""``agent servers|tools|prompts|resources``: real stdio servers, no model and no API key."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import FIXTURE_SERVER, Completed, agent_env, run_agent_cli
from tests.integration.test_cli_servers import npm_server

LIBRARY_SERVER = str(Path(__file__).parents[1] / "fixtures" / "mcp_library_server.py")


def mcp_config(tmp_path: Path) -> Path:
    """An MCP config with the library server, one that fails to start, and a disabled one."""
    path = tmp_path / "mcp.json"
    servers = {
        "library": {"command": sys.executable, "args": [LIBRARY_SERVER]},
        "broken": {"command": sys.executable, "args": [FIXTURE_SERVER, "--fail-start"]},
        "off": {"command": "never-started", "disabled": True},
    }
    path.write_text(json.dumps({"mcpServers": servers}))
    return path


def inventory(tmp_path: Path, *args: str) -> Completed:
    """``agent ARGS`` with the test MCP config and no API key anywhere."""
    env = agent_env(None, tmp_path)
    del env["OPENROUTER_API_KEY"]
    return run_agent_cli(*args, "--mcp-config", str(mcp_config(tmp_path)), env=env, cwd=tmp_path)


def json_list(done: Completed) -> list[dict[str, Any]]:
    assert done.code == 0, done.stderr
    [line] = done.stdout.splitlines()
    value = json.loads(line)
    assert isinstance(value, list)
    return value


def test_servers_json_reports_every_configured_server_without_a_key(tmp_path: Path) -> None:
    servers = json_list(inventory(tmp_path, "servers", "--json"))
    for server in servers:
        assert isinstance(server.pop("startup_ms"), float | None)
    assert servers == [
        {
            "name": "library",
            "status": "active",
            "transport": "stdio",
            "protocol_version": "2026-07-28",  # an SDK server, probed (no mode in its entry)
            "server_info": "library 2.0.0",
            "tools": 1,
            "resources": 2,
            "resource_templates": 1,
            "prompts": 3,
            "error": None,
        },
        {
            "name": "broken",
            "status": "failed",
            "transport": "stdio",
            "protocol_version": None,
            "server_info": None,
            "tools": 0,
            "resources": 0,
            "resource_templates": 0,
            "prompts": 0,
            "error": "the server exited during start-up",
        },
        {
            "name": "off",
            "status": "disabled",
            "transport": None,
            "protocol_version": None,
            "server_info": None,
            "tools": 0,
            "resources": 0,
            "resource_templates": 0,
            "prompts": 0,
            "error": None,
        },
    ]


def test_servers_table_has_a_row_per_server_with_its_failure_reason(tmp_path: Path) -> None:
    done = inventory(tmp_path, "servers")
    assert done.code == 0, done.stderr
    header, library, broken, off = done.stdout.splitlines()
    assert header.split() == [
        "SERVER",
        "STATUS",
        "TRANSPORT",
        "PROTOCOL",
        "START-UP",
        "TOOLS",
        "RESOURCES",
        "TEMPLATES",
        "PROMPTS",
        "SERVER",
        "INFO",
        "/",
        "ERROR",
    ]
    assert library.split()[:3] == ["library", "active", "stdio"]
    assert library.split()[-6:] == ["1", "2", "1", "3", "library", "2.0.0"]
    assert broken.split()[:3] == ["broken", "failed", "stdio"]
    assert broken.endswith("-  the server exited during start-up")
    assert off.split() == ["off", "disabled", "-", "-", "-", "-"]
    assert done.stderr.splitlines()[-1] == "info: 3 servers, 1 active"


def test_tools_json_names_each_tool_as_the_model_sees_it(tmp_path: Path) -> None:
    tools = json_list(inventory(tmp_path, "tools", "-s", "library", "-s", "calc", "--json"))
    assert [(t["server"], t["name"], t["model_name"]) for t in tools] == [
        ("library", "lookup", "lookup"),
        ("calc", "evaluate", "evaluate"),
    ]
    lookup = tools[0]
    assert lookup["annotations"] == {
        "read_only_hint": True,
        "idempotent_hint": True,
        "open_world_hint": False,
    }
    assert lookup["input_schema"]["required"] == ["term"]
    assert (lookup["title"], lookup["description"]) == (
        "Look up a book",
        "Find books whose title has the term.",
    )


def test_tools_table_shows_hints_and_arguments(tmp_path: Path) -> None:
    done = inventory(tmp_path, "tools", "-s", "library")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "SERVER   TOOL    MODEL SEES  HINTS                                ARGUMENTS     DESCRIPTION",
        "library  lookup  lookup      read-only, idempotent, closed-world  term, limit?  "
        "Find books whose title has the term.",
    ]


def test_prompts_list_their_arguments_as_json_and_as_a_table(tmp_path: Path) -> None:
    prompts = json_list(inventory(tmp_path, "prompts", "-s", "library", "--json"))
    assert prompts[0] == {
        "server": "library",
        "name": "review",
        "title": None,
        "description": "Ask for a review of a book.",
        "arguments": [
            {"name": "title", "description": None, "required": True},
            {"name": "tone", "description": None, "required": False},
        ],
    }
    done = inventory(tmp_path, "prompts", "-s", "library")
    assert done.stdout.splitlines() == [
        "SERVER   PROMPT  ARGUMENTS     DESCRIPTION",
        "library  review  title, tone?  Ask for a review of a book.",
        "library  recap   topic         A conversation about a topic, ending with the assistant.",
        "library  notes                 The library notes, embedded, with a question.",
    ]


def test_resources_and_templates_are_listed_as_json_and_as_a_table(tmp_path: Path) -> None:
    resources = json_list(inventory(tmp_path, "resources", "--json"))
    assert [(r["server"], r["uri"], r["template"], r["mime_type"]) for r in resources] == [
        ("library", "library://notes/readme", False, "text/plain"),
        ("library", "library://images/cover", False, "image/png"),
        ("library", "library://books/{isbn}", True, "text/plain"),
    ]
    done = inventory(tmp_path, "resources")
    assert done.stdout.splitlines() == [
        "SERVER   URI                     KIND      NAME    MIME TYPE   DESCRIPTION",
        "library  library://notes/readme  resource  readme  text/plain  How the library works.",
        "library  library://images/cover  resource  cover   image/png",
        "library  library://books/{isbn}  template  book    text/plain  One book by ISBN.",
    ]
    assert "warning: MCP server 'broken' is not available" in done.stderr


def test_no_servers_lists_nothing(tmp_path: Path) -> None:
    assert json_list(inventory(tmp_path, "tools", "--no-servers", "--json")) == []


@pytest.mark.parametrize("command", ["servers", "tools", "prompts", "resources"])
def test_an_unknown_server_is_one_line_with_exit_2(command: str, tmp_path: Path) -> None:
    done = inventory(tmp_path, command, "-s", "nosuch")
    assert done.code == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("error: --server: unknown server 'nosuch'")
    assert done.stdout == ""


def test_npm_everything_server_lists_its_tools_resources_and_prompts(tmp_path: Path) -> None:
    command = f"{npm_server('mcp-server-everything')} stdio"
    [server] = json_list(inventory(tmp_path, "servers", "-s", command, "--json"))
    assert (server["status"], server["transport"], server["server_info"]) == (
        "active",
        "stdio",
        "mcp-servers/everything 2.0.0",
    )
    assert (server["resources"], server["resource_templates"], server["prompts"]) == (7, 2, 4)
    resources = json_list(inventory(tmp_path, "resources", "-s", command, "--json"))
    assert "demo://resource/static/document/architecture.md" in [r["uri"] for r in resources]
    assert "demo://resource/dynamic/text/{resourceId}" in [r["uri"] for r in resources if r["template"]]
    prompts = json_list(inventory(tmp_path, "prompts", "-s", command, "--json"))
    assert {p["name"] for p in prompts} >= {"simple-prompt", "args-prompt", "resource-prompt"}
    tools = json_list(inventory(tmp_path, "tools", "-s", command, "--json"))
    names = {t["name"]: t["model_name"] for t in tools}
    assert (names["echo"], names["get-sum"]) == ("echo", "get-sum")
    assert server["tools"] == len(tools)
