"""Sessions through the real CLI: every run kept, carried on with ``--continue``/``--resume``
(also after ``kill -9``), listed, shown, exported, removed; ``--transcript``; ``--no-session``."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from agent.messages import AssistantMessage, UserMessage
from agent.sessions.resume import UNFINISHED
from agent.sessions.store import SessionStore
from tests.integration.cli_helpers import AGENT, FIXTURE_SERVER, TEST_KEY, Completed, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, UsageReport, call, reply

FIXTURE = f"{sys.executable} {FIXTURE_SERVER}"


def agent(server: ScriptedOpenRouter, home: Path, *args: str) -> Completed:
    return run_agent_cli(*args, env=agent_env(server.base_url, home), cwd=home)


def sessions(home: Path, *args: str) -> Completed:
    return run_agent_cli("sessions", *args, env=agent_env(None, home), cwd=home)


def roles(request: dict[str, Any]) -> list[str]:
    return [m["role"] for m in request["messages"]]


def store_bytes(home: Path) -> bytes:
    data = home / "agent-data"
    return b"".join(path.read_bytes() for path in data.iterdir() if path.is_file())


def test_a_run_is_kept_and_continue_carries_on_with_its_whole_history(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("add", {"a": 2, "b": 3}, id="call_add1")),
        reply("5", usage=UsageReport(cost=0.001)),
        reply("5 plus one is 6", usage=UsageReport(cost=0.002)),
    ) as server:
        first = agent(server, tmp_path, "run", "add 2 and 3", "-s", FIXTURE, "--yes", "--json")
        second = agent(server, tmp_path, "run", "now add one", "-s", FIXTURE, "--yes", "--continue", "--json")
    assert first.code == 0 and second.code == 0, first.stderr + second.stderr
    session = first.json()["session_id"]
    assert session and second.json()["session_id"] == session
    carried = server.chat_bodies[2]
    assert roles(carried) == ["user", "assistant", "tool", "assistant", "user"]
    assert carried["messages"][1]["tool_calls"][0]["id"] == "call_add1"
    assert carried["messages"][2] == server.chat_bodies[1]["messages"][2]  # exactly as sent before
    assert carried["messages"][-1]["content"] == "now add one"

    listed = sessions(tmp_path, "list", "--json")
    [entry] = json.loads(listed.stdout)
    assert (entry["id"], entry["runs"], entry["status"], entry["title"]) == (
        session,
        2,
        "completed",
        "add 2 and 3",
    )
    spent = first.json()["usage"]["cost"] + second.json()["usage"]["cost"]
    assert entry["usage"]["cost"] == pytest.approx(spent)
    table = sessions(tmp_path, "list")
    assert session[:8] in table.stdout and "add 2 and 3" in table.stdout


def test_resume_by_the_start_of_an_id_and_a_wrong_id_is_one_line(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("first"), reply("second")) as server:
        first = agent(server, tmp_path, "run", "one", "--no-servers", "--json")
        session = first.json()["session_id"]
        again = agent(server, tmp_path, "run", "two", "--no-servers", "--resume", session[:6], "--json")
        wrong = agent(server, tmp_path, "run", "three", "--no-servers", "--resume", "nope")
    assert again.json()["session_id"] == session
    assert roles(server.chat_bodies[1]) == ["user", "assistant", "user"]
    assert wrong.code == 2
    assert wrong.stderr == "error: --resume: no session 'nope' (agent sessions list shows them)\n"


def test_continue_with_no_earlier_session_here_is_one_line(tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        done = agent(server, tmp_path, "run", "hi", "--no-servers", "--continue")
    assert done.code == 2
    assert done.stderr == f"error: --continue: no earlier session in {tmp_path} to continue\n"
    assert server.chat_bodies == []


def test_show_export_and_rm(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("echo", {"message": "hello"})), reply("It said hello.")
    ) as server:
        session = agent(server, tmp_path, "run", "echo hello", "-s", FIXTURE, "--json").json()["session_id"]
        shown = sessions(tmp_path, "show", session[:8])
        exported = sessions(tmp_path, "export", session)
        written = sessions(tmp_path, "export", session, "--format", "md", "-o", "t.md")
        removed = sessions(tmp_path, "rm", session)
        after = sessions(tmp_path, "list", "--json")
        gone = sessions(tmp_path, "show", session)
    assert shown.code == 0, shown.stderr
    assert shown.stdout.startswith(f"# Session {session}\n")
    assert "**user**:\n\necho hello" in shown.stdout and "It said hello." in shown.stdout
    assert "**tool** `echo`" in shown.stdout
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    assert records[0]["type"] == "session" and records[0]["session_id"] == session
    messages = [r["message"] for r in records if r["type"] == "message"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    events = [r["event"]["type"] for r in records if r["type"] == "event"]
    assert events[0] == "run_started" and events[-1] == "run_finished" and "text_delta" not in events
    assert written.code == 0 and (tmp_path / "t.md").read_text() == shown.stdout
    assert removed.stderr == f"info: removed session {session}\n"
    assert json.loads(after.stdout) == []
    assert gone.code == 2


def test_no_session_stores_nothing_and_transcript_writes_json_lines(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(None, call("echo", {"message": "x"})), reply("done")) as server:
        done = agent(
            server,
            tmp_path,
            "run",
            "go",
            "-s",
            FIXTURE,
            "--no-session",
            "--transcript",
            "run.jsonl",
            "--json",
        )
        listed = sessions(tmp_path, "list", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["session_id"] is None
    assert json.loads(listed.stdout) == []
    records = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert records[0]["type"] == "session"
    assert [r["message"]["role"] for r in records if r["type"] == "message"] == [
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert records[-1]["type"] == "event" and records[-1]["event"]["type"] == "run_finished"


def test_no_key_reaches_the_store_or_a_transcript(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(f"you said {TEST_KEY}")) as server:
        done = agent(
            server,
            tmp_path,
            "run",
            f"my key is {TEST_KEY}",
            "--no-servers",
            "--transcript",
            "t.jsonl",
            "--json",
        )
        exported = sessions(tmp_path, "export", done.json()["session_id"])
    assert done.code == 0
    for text in (exported.stdout, (tmp_path / "t.jsonl").read_text()):
        assert TEST_KEY not in text and "[redacted]" in text
    assert TEST_KEY.encode() not in store_bytes(tmp_path)


def test_a_run_killed_during_a_tool_call_can_be_resumed(tmp_path: Path) -> None:
    started = tmp_path / "started"
    with ScriptedOpenRouter(
        reply(None, call("sleep", {"seconds": 60, "started": str(started)}, id="call_slow")),
        reply("resumed fine"),
    ) as server:
        env = agent_env(server.base_url, tmp_path)
        proc = subprocess.Popen(
            [AGENT, "run", "take your time", "-s", FIXTURE, "--yes", "--transcript", "t.jsonl"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the tool call never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        with sqlite3.connect(tmp_path / "agent-data" / "sessions.db") as db:
            [(session,)] = db.execute("SELECT id FROM sessions").fetchall()
        transcript = [json.loads(line) for line in (tmp_path / "t.jsonl").read_text().splitlines()]
        resumed = run_agent_cli(
            "run", "go on", "-s", FIXTURE, "--yes", "--resume", session, "--json", env=env, cwd=tmp_path
        )
    assert resumed.code == 0, resumed.stderr
    assert resumed.json()["output"] == "resumed fine"
    assert [r["type"] for r in transcript][:2] == ["session", "message"]  # every line whole
    sent = server.chat_bodies[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    assert sent[2]["tool_call_id"] == "call_slow" and UNFINISHED in json.dumps(sent[2]["content"])


@pytest.mark.anyio
async def test_a_new_session_keeps_the_history_a_script_passed_in(tmp_path: Path) -> None:
    earlier = [UserMessage(content="my name is Ada"), AssistantMessage(content="Hello, Ada.")]
    with ScriptedOpenRouter(reply("You are Ada.")) as server:
        agent = Agent(no_servers=True, env=agent_env(server.base_url, tmp_path), cwd=tmp_path)
        result = await agent.run("who am I?", history=list(earlier))
    assert roles(server.chat_bodies[0]) == ["user", "assistant", "user"]
    store = SessionStore(tmp_path / "agent-data")
    try:
        kept = [m.message for m in store.messages(str(result.session_id))]
    finally:
        store.close()
    assert [(m["role"], m["content"]) for m in kept] == [
        ("user", "my name is Ada"),
        ("assistant", "Hello, Ada."),
        ("user", "who am I?"),
        ("assistant", "You are Ada."),
    ]
