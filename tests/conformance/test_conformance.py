"""The conformance client, checked here; the suite itself runs from ``.ci/run`` (or opt-in below).

``AGENT_CONFORMANCE=1 pytest tests/conformance`` also runs both requirement sets through pytest
(about two minutes on two cores; needs ``npm ci`` in ``.ci/conformance``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.server.mcpserver import MCPServer

from tests.conformance import client, run_suite
from tests.fixtures.mcp_http import serve_on_loopback

TOOLS: dict[str, dict[str, Any]] = {"json_schema_2020_12_tool": {"$defs": {"a": {}}}, "other": {}}


@pytest.mark.parametrize(
    ("scenario", "context", "calls"),
    [
        ("initialize", {}, []),
        ("tools_call", {}, [("add_numbers", {"a": 5, "b": 3})]),
        ("sse-retry", {}, [("test_reconnection", {})]),
        ("elicitation-sep1034-client-defaults", {}, [("test_client_elicitation_defaults", {})]),
        ("http-custom-headers", {"toolCalls": [{"name": "t", "arguments": {"x": 1}}]}, [("t", {"x": 1})]),
        ("json-schema-2020-12-preservation", {}, [("json_schema_echo", {"schema": {"$defs": {"a": {}}}})]),
        ("auth/metadata-default", {}, [("json_schema_2020_12_tool", {}), ("other", {})]),
    ],
)
def test_each_scenario_makes_the_calls_the_suite_expects(
    scenario: str, context: dict[str, Any], calls: list[tuple[str, Any]]
) -> None:
    assert client.planned_calls(scenario, context, TOOLS) == calls


def test_the_suite_s_credentials_become_a_pre_registered_client_and_the_revision_picks_the_era() -> None:
    context = {"client_id": "pre", "client_secret": "shh-secret"}
    config = client.server_config("http://localhost:1/mcp", "auth/pre-registration", context, "2026-07-28")
    assert config.oauth is not None and config.oauth.client_id == "pre"
    assert config.oauth.client_metadata_url == client.CLIENT_METADATA_URL
    assert config.mode == "auto"
    assert (
        client.server_config("http://localhost:1/mcp", "tools_call", context, "2025-11-25").mode == "legacy"
    )


@pytest.mark.anyio
async def test_the_client_runs_a_scenario_through_the_runtime_against_a_real_server(tmp_path: Path) -> None:
    server = MCPServer("conformance-like")

    @server.tool()
    def add_numbers(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    with anyio.fail_after(30):
        async with serve_on_loopback(server.streamable_http_app()) as base:
            ok = await client.run(f"{base}/mcp", "tools_call", {}, "2025-11-25", tmp_path)
            missing = await client.run(f"{base}/mcp", "sse-retry", {}, "2025-11-25", tmp_path)
    assert ok is None
    assert missing is not None and missing.startswith("test_reconnection: ")


@pytest.mark.skipif(
    os.environ.get("AGENT_CONFORMANCE") != "1", reason="set AGENT_CONFORMANCE=1 to run the suite"
)
@pytest.mark.parametrize("requirements", ["2025-11-25", "2026-07-28"])
def test_every_scored_scenario_of_the_requirement_set_passes(requirements: str, tmp_path: Path) -> None:
    assert run_suite.available(), "run npm ci in .ci/conformance first"
    status, outcomes = run_suite.run_requirements(requirements, tmp_path)
    failed = {o.scenario: o.problems for o in outcomes if o.scored and not o.passed}
    assert failed == {}
    assert status == 0
