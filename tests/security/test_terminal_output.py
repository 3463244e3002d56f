"""Nothing the model, a tool or an upstream server says can drive the user's terminal.

Each test runs the real ``agent`` against a loopback OpenRouter whose answers (or tools, or
errors) carry a window-title OSC, a screen clear, an OSC 52 clipboard write and a C1 CSI. Human
output must carry none of them, streamed or not; ``--json`` keeps the exact text, escaped.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.integration.cli_helpers import FIXTURE_SERVER, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, error, reply

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x9b31m\x1bPq\x1b\\\r\x08\x7f\u202e"
VISIBLE = "hello"
CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
FIXTURE = f"{sys.executable} {FIXTURE_SERVER}"


def assert_clean(text: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in CONTROLS.findall(text)})
    assert found == [], f"control characters reached the output: {found} in {text!r}"


@pytest.mark.parametrize("stream", ["--stream", "--no-stream"])
def test_an_answer_cannot_write_escape_sequences_to_stdout(tmp_path: Path, stream: str) -> None:
    with ScriptedOpenRouter(reply(f"{HOSTILE}{VISIBLE}{HOSTILE}")) as server:
        done = run_agent_cli(
            "run", "hi", stream, env=agent_env(server.base_url, tmp_path), cwd=tmp_path, process=True
        )
    assert done.code == 0, done.stderr
    assert_clean(done.stdout)
    assert_clean(done.stderr)
    assert done.stdout == f"{VISIBLE}\n"


def test_json_keeps_the_exact_text_escaped_and_stderr_stays_clean(tmp_path: Path) -> None:
    text = f"{HOSTILE}{VISIBLE}"
    with ScriptedOpenRouter(reply(text)) as server:
        done = run_agent_cli("run", "hi", "--json", env=agent_env(server.base_url, tmp_path), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert_clean(done.stdout)
    assert_clean(done.stderr)
    assert done.json()["output"] == text


def test_events_keep_the_exact_text_escaped_and_every_line_whole(tmp_path: Path) -> None:
    text = f"{HOSTILE}{VISIBLE}\n{HOSTILE}"
    with ScriptedOpenRouter(reply(text)) as server:
        done = run_agent_cli(
            "run", "hi", "--events", "--no-servers", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert done.code == 0, done.stderr
    assert_clean(done.stdout)
    assert_clean(done.stderr)
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert "".join(e["text"] for e in events if e["type"] == "text_delta") == text
    assert events[-1]["result"]["output"] == text


def test_a_stored_session_is_shown_and_listed_cleaned(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(f"{HOSTILE}{VISIBLE}")) as server:
        env = agent_env(server.base_url, tmp_path)
        session = run_agent_cli("run", f"{HOSTILE}hi", "--json", env=env, cwd=tmp_path).json()["session_id"]
    shown = run_agent_cli("sessions", "show", session, env=env, cwd=tmp_path, process=True)
    listed = run_agent_cli("sessions", "list", env=env, cwd=tmp_path, process=True)
    for done in (shown, listed):
        assert done.code == 0, done.stderr
        assert_clean(done.stdout)
        assert_clean(done.stderr)
    assert VISIBLE in shown.stdout and "hi" in listed.stdout


def test_tool_names_and_tool_errors_are_cleaned_in_the_progress_lines(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call(f"evil{HOSTILE}", {}), call("fail", {"reason": f"bad{HOSTILE}thing"})),
        reply("done"),
    ) as server:
        done = run_agent_cli(
            "run",
            "hi",
            "-s",
            FIXTURE,
            "--approval",
            "off",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert_clean(done.stdout)
    assert_clean(done.stderr)
    assert "error: Error executing tool fail: bad thing" in done.stderr
    assert " evil" in done.stderr


def test_upstream_error_messages_and_metadata_raw_are_cleaned(tmp_path: Path) -> None:
    raw = json.dumps({"error": {"message": f"Unsupported{HOSTILE} value"}})
    with ScriptedOpenRouter(
        error(
            400,
            f"Provider returned error{HOSTILE}",
            metadata={"raw": raw + HOSTILE, "provider_name": HOSTILE},
        )
    ) as server:
        done = run_agent_cli("run", "hi", "--verbose", env=agent_env(server.base_url, tmp_path), cwd=tmp_path)
    assert done.code == 1
    assert_clean(done.stdout)
    assert_clean(done.stderr)
    assert "Provider returned error" in done.stderr


def test_a_failing_servers_stderr_tail_is_cleaned(tmp_path: Path) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(f"import sys\nsys.stderr.write({HOSTILE + 'dying words'!r})\nsys.exit(3)\n")
    with ScriptedOpenRouter(reply("ok")) as server:
        done = run_agent_cli(
            "run",
            "hi",
            "-s",
            f"{sys.executable} {script}",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    assert_clean(done.stderr)
    assert "dying words" in done.stderr
