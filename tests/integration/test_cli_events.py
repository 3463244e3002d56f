"""``agent run --events`` and ``Agent.events``: the documented event stream, checked against its schema.

Every line of every run here is validated against ``docs/events.schema.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from agent import Agent
from agent.events import SCHEMA_VERSION
from agent.events_schema import event_schema
from tests.integration.cli_helpers import TEST_KEY, Completed, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, UsageReport, call, error, reply

SCHEMA_FILE = Path(__file__).parents[2] / "docs" / "events.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))


def events_of(done: Completed) -> list[dict[str, Any]]:
    """The event lines of a run: each a whole JSON object valid against the schema."""
    events = [json.loads(line) for line in done.stdout.splitlines()]
    for event in events:
        VALIDATOR.validate(event)
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    return events


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("The launch is on Tuesday.\n")
    return data


def test_the_schema_file_is_the_one_the_code_describes() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == event_schema(), (
        "regenerate it: python -m agent.events_schema > docs/events.schema.json"
    )


def test_a_two_tool_run_streams_every_step_as_json_lines_in_order(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("list_directory", {"path": "."}), call("read_file", {"path": "notes.txt"})),
        reply("The launch is on Tuesday.", usage=UsageReport(cost=0.002)),
    ) as server:
        done = run_agent_cli(
            "run",
            "What do my notes say?",
            "-s",
            "fs",
            "--events",
            "-m",
            "test/model",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
            process=True,
        )
    assert done.code == 0, done.stderr
    events = events_of(done)
    types = [event["type"] for event in events]
    assert types[0] == "run_started" and types[-1] == "run_finished"
    started = events[0]
    assert started["schema_version"] == SCHEMA_VERSION
    assert started["model"] == "test/model" and started["tool_protocol"] == "native"
    assert [(s["name"], s["status"]) for s in started["servers"]] == [("fs", "active")]
    # turn 1: two calls, each started then finished; turn 2: the answer
    assert types.index("turn_started") < types.index("model_responded") < types.index("usage")
    assert types.count("turn_started") == 2 and types.count("usage") == 2
    calls = [
        (e["type"], e.get("tool") or e["call"]["tool"]) for e in events if e["type"].startswith("tool_call")
    ]
    assert sorted(calls) == [
        ("tool_call_finished", "list_directory"),
        ("tool_call_finished", "read_file"),
        ("tool_call_started", "list_directory"),
        ("tool_call_started", "read_file"),
    ]
    finished = [e for e in events if e["type"] == "tool_call_finished"]
    assert all(e["outcome"] == "ok" and e["duration_ms"] >= 0 for e in finished)
    usage = [e for e in events if e["type"] == "usage"]
    assert usage[-1]["total"]["cost"] == pytest.approx(usage[0]["usage"]["cost"] + 0.002)
    result = events[-1]["result"]
    assert result["output"] == "The launch is on Tuesday."
    assert result["stop_reason"] == "completed" and len(result["tool_calls"]) == 2
    assert all(event["ts"].endswith("Z") for event in events)
    assert TEST_KEY not in done.stdout + done.stderr


def test_text_is_streamed_as_deltas_that_add_up_to_the_answer(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("Streaming works, in pieces.")) as server:
        done = run_agent_cli(
            "run", "hi", "--events", "--no-servers", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert done.code == 0, done.stderr
    events = events_of(done)
    deltas = "".join(e["text"] for e in events if e["type"] == "text_delta")
    assert deltas == "Streaming works, in pieces." == events[-1]["result"]["output"]


def test_a_retry_is_an_event_and_the_stream_still_ends_with_the_result(tmp_path: Path) -> None:
    with ScriptedOpenRouter(error(502, "upstream hiccup"), reply("fine")) as server:
        done = run_agent_cli(
            "run", "hi", "--events", "--no-servers", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert done.code == 0, done.stderr
    events = events_of(done)
    [retry] = [e for e in events if e["type"] == "retrying"]
    assert retry["attempt"] == 1 and "upstream hiccup" in retry["error"]
    assert events[-1]["result"]["output"] == "fine"


def test_a_run_that_fails_before_it_starts_still_opens_and_closes_the_stream(tmp_path: Path) -> None:
    done = run_agent_cli(
        "run",
        "hi",
        "--events",
        "--no-servers",
        "--max-turns",
        "0",
        env=agent_env("http://127.0.0.1:9/api/v1", tmp_path),
        cwd=tmp_path,
    )
    assert done.code == 2
    events = events_of(done)
    assert [e["type"] for e in events] == ["run_started", "run_finished"]
    assert events[1]["result"]["stop_reason"] == "error"
    assert "--max-turns" in events[1]["result"]["error"]["message"]


def test_events_and_json_together_are_a_usage_error(tmp_path: Path) -> None:
    done = run_agent_cli("run", "hi", "--events", "--json", env=agent_env(None, tmp_path), cwd=tmp_path)
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr == "error: agent run: give one of --json and --events, not both\n"


@pytest.mark.anyio
async def test_agent_events_yields_the_same_numbered_events(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("read_file", {"path": "notes.txt"})), reply("Tuesday.")
    ) as server:
        env = agent_env(server.base_url, tmp_path)
        agent = Agent(model="test/model", servers=["fs"], env=env, cwd=workdir)
        async with agent:
            events = [event async for event in agent.events("When is the launch?")]
    lines = [json.loads(event.model_dump_json()) for event in events]
    for line in lines:
        VALIDATOR.validate(line)
    assert [line["seq"] for line in lines] == list(range(1, len(lines) + 1))
    assert lines[0]["type"] == "run_started" and lines[0]["servers"][0]["name"] == "fs"
    assert lines[-1]["type"] == "run_finished" and lines[-1]["result"]["output"] == "Tuesday."
