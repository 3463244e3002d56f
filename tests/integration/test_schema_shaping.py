"""Tool schemas per model family through the real CLI: a real MCP server, a loopback OpenRouter."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, catalog_model, last_tool_result, reply

GEMINI = "google/gemini-2.5-flash"
OTHER = "openai/gpt-4o-mini"
CATALOG = [catalog_model(GEMINI), catalog_model(OTHER)]

BOOK_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "$defs": {
        "Guest": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "email": {"type": "string", "format": "email"}},
            "required": ["name"],
            "additionalProperties": False,
        }
    },
    "properties": {
        "kind": {"const": "table", "description": "What to book"},
        "when": {"type": "string", "format": "date-time"},
        "party": {"type": "array", "items": {"$ref": "#/$defs/Guest"}, "minItems": 1},
        "note": {"type": ["string", "null"], "$comment": "free text"},
        "seating": {"anyOf": [{"enum": ["inside", "terrace"]}, {"type": "null"}], "default": None},
        "extras": {"type": "object", "additionalProperties": {"type": "integer"}},
    },
    "required": ["kind", "when", "party"],
    "additionalProperties": False,
}
FAITHFUL = {k: v for k, v in BOOK_SCHEMA.items() if k != "$schema"}
SHAPED_FOR_GEMINI = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": ["table"], "description": "What to book"},
        "when": {"type": "string", "format": "date-time"},
        "party": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string", "description": "format: email"},
                },
                "required": ["name"],
            },
        },
        "note": {"type": "string", "nullable": True},
        "seating": {"type": "string", "enum": ["inside", "terrace"], "nullable": True},
        "extras": {"type": "object", "description": 'any keys allowed, each value: {"type":"integer"}'},
    },
    "required": ["kind", "when", "party"],
}

SERVER_SOURCE = """
import json, sys
import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server

SCHEMA = json.loads(sys.argv[1])

async def list_tools(ctx, params):
    tool = types.Tool(name="book", description="Book a table.", input_schema=SCHEMA)
    return types.ListToolsResult(tools=[tool])

async def call_tool(ctx, params):
    text = "booked " + json.dumps(params.arguments, sort_keys=True)
    return types.CallToolResult(content=[types.TextContent(text=text)])

server = Server("venue", on_list_tools=list_tools, on_call_tool=call_tool)

async def main():
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())

anyio.run(main)
"""


@pytest.fixture
def venue(tmp_path: Path) -> str:
    """The ``-s`` command of an MCP server offering ``book`` with :data:`BOOK_SCHEMA`."""
    script = tmp_path / "venue_server.py"
    script.write_text(SERVER_SOURCE)
    schema_arg = json.dumps(json.dumps(BOOK_SCHEMA))  # one shell-quoted argument
    return f"{sys.executable} {script} {schema_arg}"


def sent_parameters(body: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(t["function"]["name"], t["function"]["parameters"]) for t in body["tools"]]


def test_a_gemini_model_gets_the_shaped_schema_and_arguments_still_meet_the_servers_schema(
    tmp_path: Path, venue: str
) -> None:
    good = {"kind": "table", "when": "2026-05-01T19:00:00Z", "party": [{"name": "Ada"}]}
    extra = {**good, "party": [{"name": "Ada", "age": 36}]}  # the shaped schema cannot say "no extras"
    with ScriptedOpenRouter(
        reply(None, call("book", good), call("book", extra)),
        lambda request: reply(f"done: {last_tool_result(request)}"),
        catalog=CATALOG,
    ) as server:
        done = run_agent_cli(
            "run", "Book a table", "-s", venue, "-m", GEMINI, "--json", "--approval", "off",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.code == 0, done.stderr
    assert [sent_parameters(body) for body in server.chat_bodies] == [[("book", SHAPED_FOR_GEMINI)]] * 2
    booked, refused = done.json()["tool_calls"]
    assert (booked["is_error"], booked["output"]) == (False, "booked " + json.dumps(good, sort_keys=True))
    assert refused["is_error"] is True
    assert refused["output"].startswith(
        "Invalid arguments for tool 'book': Additional properties are not allowed ('age' was unexpected)"
    )
    server.assert_clean()


def test_another_model_gets_the_schema_as_the_server_declared_it(tmp_path: Path, venue: str) -> None:
    with ScriptedOpenRouter(reply("nothing to book"), catalog=CATALOG) as server:
        done = run_agent_cli(
            "run", "hi", "-s", venue, "-m", OTHER, "--json",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.code == 0, done.stderr
    assert sent_parameters(server.chat_bodies[0]) == [("book", FAITHFUL)]


def test_a_gemini_fallback_makes_the_primary_send_schemas_gemini_accepts(tmp_path: Path, venue: str) -> None:
    with ScriptedOpenRouter(reply("nothing to book"), catalog=CATALOG) as server:
        done = run_agent_cli(
            "run", "hi", "-s", venue, "-m", OTHER, "--fallback", GEMINI, "--json",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.code == 0, done.stderr
    assert server.chat_bodies[0]["models"] == [OTHER, GEMINI]
    assert sent_parameters(server.chat_bodies[0]) == [("book", SHAPED_FOR_GEMINI)]


def test_models_yaml_overrides_the_profile_a_vendor_rule_chose(tmp_path: Path, venue: str) -> None:
    env = agent_env(None, tmp_path)
    config = Path(env["AGENT_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / "models.yaml").write_text('models:\n  "google/*":\n    tool_schema_profile: full\n')
    with ScriptedOpenRouter(reply("nothing to book"), catalog=CATALOG) as server:
        done = run_agent_cli(
            "run", "hi", "-s", venue, "-m", GEMINI, "--json",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.code == 0, done.stderr
    assert sent_parameters(server.chat_bodies[0]) == [("book", FAITHFUL)]
