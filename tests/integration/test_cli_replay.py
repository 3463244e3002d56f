"""``--record`` and ``--replay``: a run recorded against the loopback OpenRouter, replayed offline
with no key, its tools run for real or replayed too, and the first difference named."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from agent import Agent
from tests.integration.cli_helpers import FIXTURE_SERVER, TEST_KEY, Completed, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, reply


def write_config(home: Path) -> None:
    """The fixture server as ``fx``, given SECRET_COLOUR (stdio servers get only what they are given)."""
    entry = {
        "command": sys.executable,
        "args": [FIXTURE_SERVER],
        "env": {"SECRET_COLOUR": "${SECRET_COLOUR}"},
    }
    (home / "mcp.json").write_text(json.dumps({"mcpServers": {"fx": entry}}))


OFFLINE = "http://127.0.0.1:9/api/v1"  # nothing listens there


def offline_env(home: Path, **extra: str) -> dict[str, str]:
    env = agent_env(OFFLINE, home, **extra)
    del env["OPENROUTER_API_KEY"]
    return env


SERVER = ("--mcp-config", "mcp.json", "-s", "fx")


def record(home: Path, prompt: str = "what is in SECRET_COLOUR?", colour: str = "teal") -> Completed:
    write_config(home)
    with ScriptedOpenRouter(
        reply(None, call("env", {"name": "SECRET_COLOUR"})), reply(f"It is {colour}.")
    ) as server:
        env = agent_env(server.base_url, home, SECRET_COLOUR=colour)
        done = run_agent_cli(
            "run", prompt, *SERVER, "--yes", "--record", "rec.jsonl", "--json", env=env, cwd=home
        )
    assert done.code == 0, done.stderr
    return done


def replay(
    home: Path, *args: str, prompt: str = "what is in SECRET_COLOUR?", colour: str = "teal"
) -> Completed:
    env = offline_env(home, SECRET_COLOUR=colour)
    return run_agent_cli(
        "run", prompt, *SERVER, "--yes", "--replay", "rec.jsonl", *args, "--json", env=env, cwd=home
    )


def test_a_recorded_run_replays_offline_without_a_key(tmp_path: Path) -> None:
    recorded = record(tmp_path)
    text = (tmp_path / "rec.jsonl").read_text()
    assert TEST_KEY not in text and "Authorization" not in text
    kinds = [json.loads(line)["type"] for line in text.splitlines()]
    assert kinds[0] == "recording" and kinds.count("tool") == 1
    replayed = replay(tmp_path)
    assert replayed.code == 0, replayed.stderr
    assert replayed.json()["output"] == recorded.json()["output"] == "It is teal."
    assert replayed.json()["tool_calls"][0]["output"] == "teal"  # the tool really ran again


def test_a_different_prompt_stops_the_replay_naming_the_first_difference(tmp_path: Path) -> None:
    record(tmp_path)
    replayed = replay(tmp_path, prompt="what is in SECRET_SHAPE?")
    assert replayed.code == 1
    assert replayed.stderr.endswith(
        "error: the run diverged from rec.jsonl at model request 1: messages[0].content is "
        '"what is in SECRET_SHAPE?" now, "what is in SECRET_COLOUR?" when recording\n'
    )
    assert replayed.json()["error"]["type"] == "ReplayDivergedError"


def test_a_tool_that_answers_differently_diverges_unless_tools_are_replayed_too(tmp_path: Path) -> None:
    record(tmp_path, colour="teal")
    live = replay(tmp_path, colour="red")
    assert live.code == 1
    assert 'at model request 2: messages[2].content is "red" now, "teal" when recording' in live.stderr
    replayed = replay(tmp_path, "--replay-tools", colour="red")
    assert replayed.code == 0, replayed.stderr
    assert replayed.json()["tool_calls"][0]["output"] == "teal"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replay-tools"], "error: --replay-tools: --replay-tools goes with --replay FILE\n"),
        (["--replay", "missing.jsonl"], "error: --replay: cannot read"),
        (
            ["--record", "a.jsonl", "--replay", "b.jsonl"],
            "error: --record: give one of --record and --replay\n",
        ),
    ],
)
def test_wrong_record_and_replay_flags_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    done = run_agent_cli("run", "hi", "--no-servers", *args, env=offline_env(tmp_path), cwd=tmp_path)
    assert done.code == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.jsonl").write_text('{"hello": 1}\n')
    done = run_agent_cli(
        "run", "hi", "--no-servers", "--replay", "notes.jsonl", env=offline_env(tmp_path), cwd=tmp_path
    )
    assert done.code == 2
    assert done.stderr.endswith("is not a recording (agent run --record FILE makes one)\n")


def test_the_python_api_replays_a_recording(tmp_path: Path) -> None:
    record(tmp_path)
    agent = Agent(
        mcp_config=tmp_path / "mcp.json",
        servers=["fx"],
        replay=tmp_path / "rec.jsonl",
        approval="off",
        env=offline_env(tmp_path, SECRET_COLOUR="teal"),
        cwd=tmp_path,
    )
    result = agent.run_sync("what is in SECRET_COLOUR?")
    assert (result.stop_reason, result.output) == ("completed", "It is teal.")
