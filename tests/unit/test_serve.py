"""The pure parts of ``agent serve``: addresses and tokens, roots, progress messages, limits, routing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest

from agent.core.agent import Agent
from agent.errors import ConfigError, ProviderError
from agent.events import ModelResponded, TextDelta, ToolCallStarted
from agent.mcp.report import ServerReport
from agent.messages import Usage
from agent.result import RunResult, ToolCallRecord
from agent.serve.http import HttpAddress, parse_address, server_token
from agent.serve.progress import TurnProgress, turn_message
from agent.serve.results import result_text, run_result_schema, without_secrets
from agent.serve.roots import narrow_roots, root_paths
from agent.serve.tools import ServeTools
from agent.serve.toolset import RunToolset
from agent.static_tools import StaticToolset
from agent.tools import ToolOutcome


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8765", HttpAddress("127.0.0.1", 8765)),
        ("127.0.0.1:0", HttpAddress("127.0.0.1", 0)),
        ("localhost:80", HttpAddress("localhost", 80)),
        ("[::1]:9000", HttpAddress("::1", 9000)),
        ("0.0.0.0:8000", HttpAddress("0.0.0.0", 8000)),
    ],
)
def test_an_address_is_host_and_port_defaulting_to_loopback(text: str, expected: HttpAddress) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "host:port", "1.2.3.4:70000", "[::1]", "[::1]9000", ":80"])
def test_a_malformed_address_is_a_usage_error_naming_the_flag(text: str) -> None:
    with pytest.raises(ConfigError, match="--http"):
        parse_address(text)


def test_loopback_addresses_are_known_and_urls_bracket_ipv6() -> None:
    assert [parse_address(a).loopback for a in ("127.0.0.1:1", "localhost:1", "[::1]:1", "10.0.0.1:1")] == [
        True,
        True,
        True,
        False,
    ]
    assert HttpAddress("::1", 0).url(4321) == "http://[::1]:4321/mcp"


def test_a_remote_address_needs_allow_remote_and_a_long_enough_token() -> None:
    remote, local = HttpAddress("0.0.0.0", 0), HttpAddress("127.0.0.1", 0)
    token = "x" * 16
    with pytest.raises(ConfigError, match="not a loopback address"):
        server_token(remote, allow_remote=False, env={"AGENT_SERVE_TOKEN": token})
    with pytest.raises(ConfigError, match="needs a bearer token: set AGENT_SERVE_TOKEN"):
        server_token(remote, allow_remote=True, env={})
    with pytest.raises(ConfigError, match="too short") as short:
        server_token(remote, allow_remote=True, env={"MY_TOKEN": "secret"}, token_env="MY_TOKEN")
    assert "secret" not in str(short.value)
    assert server_token(remote, allow_remote=True, env={"AGENT_SERVE_TOKEN": token}) == token
    assert server_token(local, allow_remote=False, env={}) is None
    assert server_token(local, allow_remote=False, env={"AGENT_SERVE_TOKEN": token}) == token


def test_root_uris_become_local_paths_and_others_are_skipped() -> None:
    uris = [
        "file:///srv/data",
        "file://localhost/home/a%20b",
        "https://example.com/x",
        "file://otherhost/x",
        "file:relative",
        "file:///bad%00path",
    ]
    assert root_paths(uris) == [Path("/srv/data"), Path("/home/a b")]


def test_the_hosts_roots_only_narrow_the_fs_servers_directories(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "a" / "deep").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", allowed / "escape")
    host = [
        allowed / "a",
        allowed / "a" / "deep",
        allowed / "a",
        tmp_path / "outside",
        allowed / "escape",  # inside by name, outside once resolved
        allowed / "missing",
        tmp_path,  # wider than allowed
    ]
    assert narrow_roots(host, [allowed]) == ((allowed / "a").resolve(), (allowed / "a" / "deep").resolve())
    assert narrow_roots([allowed], [allowed]) == (allowed.resolve(),)


@pytest.mark.parametrize(
    ("calls", "names", "expected"),
    [
        (0, [], "turn 3: answering"),
        (1, ["fs.read_file"], "turn 3: calling fs.read_file"),
        (3, ["fs.read_file"], "turn 3: calling fs.read_file and 2 more"),
        (2, ["calc.evaluate", "calc.evaluate"], "turn 3: calling calc.evaluate"),
        (2, [], "turn 3: calling 2 tools"),
        (7, [f"s.t{n}" for n in range(7)], "turn 3: calling s.t0, s.t1, s.t2, s.t3, s.t4 and 2 more"),
    ],
)
def test_a_turns_progress_message_names_its_calls(calls: int, names: list[str], expected: str) -> None:
    assert turn_message(3, calls, names) == expected


def _responded(turn: int, calls: int) -> ModelResponded:
    return ModelResponded(
        turn=turn, model="m", content=None, tool_calls=calls, finish_reason=None, usage=Usage(), duration_ms=1
    )


def _started(server: str, tool: str) -> ToolCallStarted:
    return ToolCallStarted(id=tool, server=server, tool=tool, arguments={})


@pytest.mark.anyio
async def test_each_turn_is_one_progress_notification_in_order() -> None:
    sent: list[tuple[float, str]] = []

    async def report(turn: float, message: str) -> None:
        sent.append((turn, message))

    progress = TurnProgress(report)
    for event in [
        _responded(1, 2),
        TextDelta(text="ignored"),
        _started("fs", "read_file"),
        _started("calc", "evaluate"),
        _responded(2, 1),
        _started("fs", "list_directory"),
        _started("fs", "late"),  # a call of a turn already reported
        _responded(3, 1),  # the run ended before its call started
    ]:
        progress.sink(event)
    progress.close()
    with anyio.fail_after(5):
        await progress.send_all()
    progress.sink(_responded(4, 0))  # after the run: dropped, never raises
    assert sent == [
        (1, "turn 1: calling fs.read_file, calc.evaluate"),
        (2, "turn 2: calling fs.list_directory"),
        (3, "turn 3: calling 1 tool"),
    ]


def test_a_runs_text_is_its_answer_its_error_or_the_limit_it_reached() -> None:
    done = RunResult(output="42", turns=1)
    limited = RunResult(output="partial", stop_reason="max_cost", turns=3)
    failed = RunResult()
    failed.fail(ProviderError("the provider is down\n(503)"))
    assert result_text(done) == ("42", False)
    assert result_text(limited) == ("stopped: the run reached the cost limit (max_cost) after 3 turns", True)
    assert result_text(failed) == ("error: ProviderError: the provider is down (503)", True)


def test_every_run_result_matches_the_output_schema() -> None:
    schema = run_result_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and "$defs" not in schema
    full = RunResult(
        output="x",
        data={"any": ["json"]},
        tool_calls=[
            ToolCallRecord(
                id="1", server="s", tool="t", arguments=[1], output="o", is_error=True, duration_ms=1
            )
        ],
        usage_by_model={"m": Usage(prompt_tokens=1, cost=0.5, cost_source="reported")},
        servers=[ServerReport(name="s", status="failed", error="boom")],
        session_id="abc",
    )
    full.fail(ConfigError("bad"))
    for result in (RunResult(), full):
        jsonschema.validate(result.model_dump(mode="json"), schema)


def test_secrets_are_redacted_from_everything_returned() -> None:
    key = "sk-or-v1-" + "a" * 40
    value = {"output": f"the key is {key}", "calls": [{"output": "header-secret-value"}], "n": 1}
    assert without_secrets(value, [key, "header-secret-value", None]) == {
        "output": "the key is [redacted]",
        "calls": [{"output": "[redacted]"}],
        "n": 1,
    }


def test_the_hosts_limits_only_tighten_the_agents() -> None:
    tools = ServeTools(Agent(max_turns=5, max_cost=1.0))
    assert tools._limits(None, None, None) == {}
    assert tools._limits(50, 9.0, 30.0) == {"max_turns": 5, "max_cost": 1.0, "timeout": 30.0}
    assert tools._limits(2, 0.1, None) == {"max_turns": 2, "max_cost": 0.1}


@pytest.mark.anyio
async def test_a_runs_toolset_keeps_the_chosen_servers_and_routes_replacements() -> None:
    def answer(text: str) -> Any:
        return lambda **_: text

    base = StaticToolset()
    base.add("read", answer("base fs"), server="fs").add("eval", answer("calc"), server="calc")
    base.add("query", answer("db"), server="db")
    narrowed = StaticToolset("fs").add("read", answer("narrowed fs"))
    narrowed.add("stray", answer("not fs"), server="other")
    run = RunToolset(base, ["fs", "calc"], {"fs": narrowed})
    assert [(t.server, t.name) for t in run.tools()] == [("calc", "eval"), ("fs", "read")]
    assert run.tools() is run.tools()
    assert await run.call("fs", "read", {}) == ToolOutcome("narrowed fs")
    assert await run.call("calc", "eval", {}) == ToolOutcome("calc")
    assert await run.call("db", "query", {}) == ToolOutcome(
        "MCP server 'db' is not part of this run", is_error=True
    )
