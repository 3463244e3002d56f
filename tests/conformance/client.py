"""The MCP conformance suite's client under test: the runtime's own MCP layer, driven per scenario.

The suite (``@modelcontextprotocol/conformance``) starts a mock server for each scenario and
runs this module with the server's URL as the last argument, the scenario's name in
``MCP_CONFORMANCE_SCENARIO``, the protocol revision in ``MCP_CONFORMANCE_PROTOCOL_VERSION`` and,
for some scenarios, a JSON ``MCP_CONFORMANCE_CONTEXT`` (pre-registered credentials, tool calls
to make). It connects the way the runtime connects to any configured HTTP server: an
``HttpServerConfig`` in an ``McpManager``, with OAuth from :mod:`agent.mcp.oauth` (tokens kept
in a fresh directory, the browser played by :func:`~tests.conformance.browser.approve_at_once`).
What differs per scenario is only what it does once connected: which tools it calls, with what.

Run from the repository root: ``python -m tests.conformance.client URL``. Exit status 0 when
the server could be used and every call went through; 1 with one line on stderr otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

from agent.config.servers import HttpServerConfig, OAuthConfig
from agent.events import ElicitationAnswer, ElicitationRequest
from agent.mcp.client_features import ClientFeatures
from agent.mcp.manager import McpManager
from agent.mcp.oauth import OAuthOptions, use_oauth_options
from agent.tools import ToolOutcome
from tests.conformance.browser import approve_at_once

SERVER = "conformance"
CLIENT_METADATA_URL = "https://conformance-test.local/client-metadata.json"
"""The client ID metadata document the suite's authorization servers pretend to have fetched."""
MODERN = "2026-07-28"


async def accept_with_defaults(request: ElicitationRequest) -> ElicitationAnswer:
    """Say yes to every form, with the values the schema suggests (SEP-1034)."""
    return ElicitationAnswer.accept({f.name: f.default for f in request.fields if f.default is not None})


def server_config(url: str, scenario: str, context: dict[str, Any], version: str) -> HttpServerConfig:
    """The entry a user would write for this server (pre-registered when the suite gives credentials)."""
    oauth = OAuthConfig(
        client_id=context.get("client_id") if scenario.startswith("auth/") else None,
        client_secret=context.get("client_secret") if scenario.startswith("auth/") else None,
        client_metadata_url=CLIENT_METADATA_URL,
    )
    # 2026-07-28 is reached by the SDK's probe, which also retries with a version the server
    # names when it refuses the first; the dated revisions before it use the handshake.
    mode = "auto" if version == MODERN else "legacy"
    return HttpServerConfig(url=url, mode=mode, oauth=oauth, startup_timeout=90)


def planned_calls(
    scenario: str, context: dict[str, Any], tools: dict[str, dict[str, Any]]
) -> list[tuple[str, Any]]:
    """The tool calls a scenario expects, given the tools (name -> input schema) the server lists."""
    if scenario == "tools_call":
        return [("add_numbers", {"a": 5, "b": 3})]
    if scenario == "sse-retry":
        return [("test_reconnection", {})]
    if scenario == "elicitation-sep1034-client-defaults":
        return [("test_client_elicitation_defaults", {})]
    if scenario == "http-custom-headers":
        return [(call["name"], call.get("arguments", {})) for call in context.get("toolCalls", [])]
    if scenario == "json-schema-2020-12-preservation":
        return [("json_schema_echo", {"schema": tools["json_schema_2020_12_tool"]})]
    if scenario in ("initialize", "json-schema-ref-no-deref"):
        return []
    return [(name, {}) for name in tools]  # the auth flows, headers, request state: every tool once


async def run(url: str, scenario: str, context: dict[str, Any], version: str, store: Path) -> str | None:
    """Connect, make the scenario's calls, disconnect; what went wrong, if anything."""
    config = server_config(url, scenario, context, version)
    features = ClientFeatures(elicitor=accept_with_defaults)
    problems: list[str] = []
    with use_oauth_options(OAuthOptions(on_authorize=approve_at_once, store_dir=store, sign_in_seconds=60)):
        async with McpManager({SERVER: config}, features=features) as manager:
            for status in manager.failed:
                return str(status.error)
            tools = {tool.name: tool.input_schema for tool in manager.tools()}
            for name, arguments in planned_calls(scenario, context, tools):
                outcome = await manager.call(SERVER, name, arguments)
                if outcome.is_error:
                    problems.append(f"{name}: {_first_line(outcome)}")
            if scenario == "http-standard-headers":
                await _browse(manager)
    return "; ".join(problems) or None


async def _browse(manager: McpManager) -> None:
    """List and read what the server offers besides tools (each request has its own headers)."""
    for resource in [r for r in await manager.resource_entries() if not r.template][:1]:
        await manager.read_resource(SERVER, resource.uri)
    for prompt in (await manager.prompt_entries())[:1]:
        await manager.get_prompt(SERVER, prompt.name, dict.fromkeys(prompt.required, "x"))


def _first_line(outcome: ToolOutcome) -> str:
    return outcome.text.splitlines()[0] if outcome.text else "error"


def main() -> int:
    """Run the scenario named in the environment against the server URL given last."""
    if len(sys.argv) < 2:
        print("usage: python -m tests.conformance.client SERVER_URL", file=sys.stderr)
        return 2
    scenario = os.environ.get("MCP_CONFORMANCE_SCENARIO", "initialize")
    context = json.loads(os.environ.get("MCP_CONFORMANCE_CONTEXT") or "{}")
    version = os.environ.get("MCP_CONFORMANCE_PROTOCOL_VERSION", "2025-11-25")
    with tempfile.TemporaryDirectory(prefix="agent-conformance-") as store:
        problem = anyio.run(run, sys.argv[-1], scenario, context, version, Path(store))
    if problem:
        print(f"{scenario}: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
