"""``agent chat`` driven as a person uses it (a real pseudo-terminal) and as a script does (stdin lines).

At a terminal the chat is the pty's foreground process (the pty is its controlling terminal), so
Ctrl-C typed there is a real SIGINT; the loopback OpenRouter answers.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import AGENT, FIXTURE_SERVER, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, catalog_model, error, last_tool_result, reply, stall

PROMPT = "<the chat waits for a message>"
"""A step that waits until the chat reads the next line (prompt_toolkit turns bracketed paste on)."""
_READING = b"\x1b[?2004h"
_READ_DONE = b"\x1b[?2004l"
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]"
)
# The pty becomes the chat's controlling terminal: Ctrl-C typed there reaches it as SIGINT.
_BOOT = "\n".join(
    [
        "import fcntl, os, sys, termios",
        "fcntl.ioctl(0, termios.TIOCSCTTY, 0)",
        "os.execv(sys.argv[1], sys.argv[1:])",
    ]
)


@dataclass
class Terminal:
    """What a chat at a terminal did: its exit code and every byte it drew."""

    code: int
    raw: bytes

    @property
    def screen(self) -> str:
        """The text shown, without control sequences (redrawn lines appear as often as drawn)."""
        text = _ESCAPES.sub("", self.raw.decode(errors="replace"))
        return text.replace("\r\n", "\n").replace("\r", "")


def _reading(raw: bytes) -> bool:
    """Whether the chat is reading a line now: its last prompt began and has not ended."""
    return raw.rfind(_READING) > raw.rfind(_READ_DONE)


Step = tuple[str | Callable[[], bool], bytes]
"""Keys to type once a text shows (after the previous step's), the next prompt, or a condition holds."""


def chat_at_a_terminal(
    args: list[str], env: dict[str, str], cwd: Path, steps: list[Step], timeout: float = 60
) -> Terminal:
    """Run ``agent chat ARGS`` on a pseudo-terminal of 40x120; type each step's keys when it is due.

    A step's text is looked for after the previous step's; :data:`PROMPT` waits for the next
    prompt; a callable is asked until it says yes. The chat has ``timeout`` seconds in all.
    Keys for a prompt are typed only while it reads (prompt_toolkit has the terminal raw): a
    Ctrl-D typed between two prompts would be taken by the terminal's line discipline.
    """
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", _BOOT, AGENT, "chat", *args],
        env={**env, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        cwd=cwd,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
    )
    os.close(follower)
    raw, mark, sent_at, done = b"", 0, 0, 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # EIO: the chat closed the terminal
                    break
                if not chunk:
                    break
                raw += chunk
            if done < len(steps):
                expect, keys = steps[done]
                screen = Terminal(0, raw).screen
                if callable(expect):
                    if not expect():
                        continue
                elif expect == PROMPT:  # a prompt begun since the last keys, and reading now
                    if raw.rfind(_READING) < sent_at or not _reading(raw):
                        continue
                elif expect in screen[mark:]:
                    mark = screen.index(expect, mark) + len(expect)
                else:
                    continue
                sent_at = len(raw)
                os.write(leader, keys)
                done += 1
            elif proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=30) if proc.poll() is not None or done == len(steps) else -1
    except subprocess.TimeoutExpired:
        code = -1
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert done == len(steps), (
        f"stuck before step {done} {steps[done]!r}; the screen:\n{Terminal(0, raw).screen}"
    )
    return Terminal(code, raw)


def chat(server: ScriptedOpenRouter, home: Path, stdin: str, *args: str) -> Any:
    """``agent chat -m test/model ARGS`` with ``stdin`` as its input (not a terminal), in this process."""
    return run_agent_cli(
        "chat", "-m", "test/model", *args, env=agent_env(server.base_url, home), cwd=home, stdin=stdin
    )


def sessions(home: Path) -> list[dict[str, Any]]:
    """The stored sessions, newest first (``agent sessions list --json``)."""
    done = run_agent_cli("sessions", "list", "--json", env=agent_env(None, home), cwd=home)
    listed: list[dict[str, Any]] = json.loads(done.stdout)
    return listed


def texts(body: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, text) of each message of a request (tool calls as ``call NAME``)."""
    out = []
    for m in body["messages"]:
        text = m.get("content") or " ".join(f"call {c['function']['name']}" for c in m.get("tool_calls", []))
        out.append((m["role"], text if isinstance(text, str) else json.dumps(text)))
    return out


# -- at a terminal -----------------------------------------------------------------------------


def test_a_chat_at_a_terminal_runs_tools_keeps_the_history_and_stores_one_session(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("evaluate", {"expression": "6*7"})),
        lambda request: reply(f"It is {last_tool_result(request)}."),
        reply("You asked what 6*7 is,\nthen this."),
    ) as server:
        terminal = chat_at_a_terminal(
            ["-m", "test/model", "-s", "calc"],
            agent_env(server.base_url, tmp_path),
            tmp_path,
            [
                (PROMPT, b"what is 6*7?\r"),
                (PROMPT, b"/cost\r"),
                (PROMPT, b"what did I\x1b\rask?\r"),  # Esc Enter: a second line
                (PROMPT, b"\x04"),
            ],
        )
        bodies = server.chat_bodies
        server.assert_clean()
    screen = terminal.screen
    assert terminal.code == 0, screen
    assert "servers: calc (1 tool)" in screen
    assert "chat with test/model" in screen
    assert '✓ calc.evaluate {"expression":"6*7"}' in screen
    assert "It is 42." in screen
    assert re.search(r"test/model +2 +20 +10 +\$0\.0020", screen), screen
    assert "then this." in screen
    assert texts(bodies[2]) == [
        ("user", "what is 6*7?"),
        ("assistant", "call evaluate"),
        ("tool", "42"),
        ("assistant", "It is 42."),
        ("user", "what did I\nask?"),
    ]
    history = tmp_path / "agent-data" / "chat_history"
    assert "what did I\n+ask?" in history.read_text()
    assert history.stat().st_mode & 0o777 == 0o600
    [session] = sessions(tmp_path)
    assert session["runs"] == 2
    shown = run_agent_cli("sessions", "show", session["id"], env=agent_env(None, tmp_path), cwd=tmp_path)
    for said in ("what is 6*7?", "It is 42.", "what did I\nask?", "then this."):
        assert said in shown.stdout


def test_ctrl_c_cancels_the_turn_the_prompt_comes_back_and_ctrl_d_leaves(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        stall(30, reply("Once upon a time, in a land far")),
        reply("You asked for a story."),
    ) as server:
        terminal = chat_at_a_terminal(
            ["-m", "test/model", "--no-servers"],
            agent_env(server.base_url, tmp_path),
            tmp_path,
            [
                (PROMPT, b"tell me a story\r"),
                ("in a land far", b"\x03"),
                (PROMPT, b"never mind"),
                ("never mind", b"\x03"),  # Ctrl-C at the prompt: the line is dropped
                (PROMPT, b"what did I ask?\r"),
                (PROMPT, b"\x04"),
            ],
        )
        bodies = server.chat_bodies
    screen = terminal.screen
    assert terminal.code == 0, screen
    assert "interrupted: the turn is cancelled" in screen
    assert "You asked for a story." in screen
    assert texts(bodies[1]) == [("user", "tell me a story"), ("user", "what did I ask?")]
    [session] = sessions(tmp_path)
    assert session["runs"] == 2


def test_ctrl_c_cancels_a_running_tool_and_the_next_turn_carries_on_with_the_same_server(
    tmp_path: Path,
) -> None:
    started, cancelled = tmp_path / "started", tmp_path / "cancelled"
    arguments = {"seconds": 60, "started": str(started), "marker": str(cancelled)}
    with ScriptedOpenRouter(
        reply("Taking a nap.", call("sleep", arguments)),
        reply(None, call("add", {"a": 2, "b": 3})),
        lambda request: reply(f"Awake: {last_tool_result(request)}."),
    ) as server:
        terminal = chat_at_a_terminal(
            ["-m", "test/model", "-s", f"{sys.executable} {FIXTURE_SERVER}", "--approval", "off"],
            agent_env(server.base_url, tmp_path),
            tmp_path,
            [
                (PROMPT, b"nap\r"),
                (started.exists, b"\x03"),
                (PROMPT, b"wake up\r"),
                (PROMPT, b"\x04"),
            ],
        )
        bodies = server.chat_bodies
    assert terminal.code == 0, terminal.screen
    assert cancelled.read_text() == "cancelled"
    assert "Awake: 5." in terminal.screen
    assert texts(bodies[1])[:4] == [
        ("user", "nap"),
        ("assistant", "Taking a nap."),
        ("tool", "Not finished: the run stopped before this call returned a result."),
        ("user", "wake up"),
    ]


def test_slash_commands_at_a_terminal_switch_the_model_and_ask_before_overwriting(tmp_path: Path) -> None:
    (tmp_path / "chat.md").write_text("keep me\n")
    catalog = [catalog_model("test/model"), catalog_model("vendor/other-model")]
    with ScriptedOpenRouter(
        models={"test/model": [reply("first")], "vendor/other-model": [reply("second")]}, catalog=catalog
    ) as server:
        terminal = chat_at_a_terminal(
            ["-m", "test/model", "--no-servers"],
            agent_env(server.base_url, tmp_path),
            tmp_path,
            [
                (PROMPT, b"hello\r"),
                (PROMPT, b"/mod"),
                ("/model", b"\t vendor/oth"),  # Tab completes the command from the menu shown
                ("vendor/other-model", b"\t\r"),  # ... and the model id from the catalog
                (PROMPT, b"/model\r"),
                (PROMPT, b"\x1b[A\r"),  # Up: the last input again
                (PROMPT, b"again\r"),
                (PROMPT, b"/save chat.md\r"),
                ("overwrite it? [y/N]", b"n\r"),
                (PROMPT, b"/save chat.md\r"),
                ("overwrite it? [y/N]", b"y\r"),
                (PROMPT, b"/nope\r"),
                (PROMPT, b"\x04"),
            ],
        )
        models = [body["model"] for body in server.chat_bodies]
    screen = terminal.screen
    assert terminal.code == 0, screen
    assert "model: vendor/other-model (from the next message on)" in screen
    assert screen.count("\nmodel: vendor/other-model\n") == 2
    assert models == ["test/model", "vendor/other-model"]
    assert "chat.md exists; not overwritten" in screen
    assert "saved 4 messages to" in screen
    saved = (tmp_path / "chat.md").read_text()
    assert "**user**:\n\nhello" in saved and "second" in saved
    assert "error: unknown command /nope; the commands are /model, /fallback, /tools" in screen


def test_a_tool_that_needs_approval_is_asked_about_and_always_lasts_for_the_chat(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    fs = f"{sys.executable} -P -m servers.fs {work} --allow-writes"
    with ScriptedOpenRouter(
        reply(None, call("write_file", {"path": "a.txt", "content": "one"})),
        reply("Wrote a.txt."),
        reply(None, call("write_file", {"path": "b.txt", "content": "two"})),
        reply("Wrote b.txt."),
    ) as server:
        terminal = chat_at_a_terminal(
            ["-m", "test/model", "-s", fs],
            agent_env(server.base_url, tmp_path),
            work,
            [
                (PROMPT, b"write a\r"),
                ("[y/a/N]", b"a\r"),
                (PROMPT, b"write b\r"),
                (PROMPT, b"\x04"),
            ],
        )
    screen = terminal.screen
    assert terminal.code == 0, screen
    assert screen.count("needs your approval") == 1
    assert (work / "a.txt").read_text() == "one" and (work / "b.txt").read_text() == "two"


# -- stdin is not a terminal: a message per line -----------------------------------------------


def test_piped_lines_are_messages_answered_on_stdout_with_the_history_carried(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("Hi there."), reply("You said hi.")) as server:
        done = chat(server, tmp_path, "hi\nwhat did I say?\n", "--no-servers")
        bodies = server.chat_bodies
    assert done.code == 0, done.stderr
    assert done.stdout == "Hi there.\nYou said hi.\n"
    assert texts(bodies[1]) == [("user", "hi"), ("assistant", "Hi there."), ("user", "what did I say?")]
    [session] = sessions(tmp_path)
    assert (session["runs"], session["title"]) == (2, "hi")
    done.assert_no_key()


def test_piped_slash_commands_list_switch_clear_and_resume(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply("one"), reply(None, call("evaluate", {"expression": "1+1"})), reply("two"), reply("three")
    ) as server:
        first = chat(server, tmp_path, "remember 1\n", "--no-servers")
        [old] = sessions(tmp_path)
        script = "\n".join(
            [
                "/tools",
                "/servers",
                "/model other/model",
                "/fallback fb/one fb/two",
                "/fallback",
                "add",
                "/clear",
                f"/resume {old['id'][:8]}",
                "and then?\\",  # a line ending in \ goes on with the next
                "go on",
                "/cost",
                "/save ~/conversation.json",  # ~ is the home directory (here the test's)
                "",
            ]
        )
        done = chat(server, tmp_path, script, "-s", "calc")
        bodies = server.chat_bodies
    assert first.code == 0 and done.code == 0, done.stderr
    assert "calc    evaluate" in done.stdout
    assert "calc    active" in done.stdout
    assert "fallbacks: fb/one, fb/two" in done.stdout
    assert "model: other/model (from the next message on)" in done.stderr
    assert bodies[1]["model"] == "other/model" and bodies[1]["models"] == ["other/model", "fb/one", "fb/two"]
    assert texts(bodies[2])[0] == ("user", "add")  # a new conversation (not the old session)
    assert texts(bodies[3]) == [("user", "remember 1"), ("assistant", "one"), ("user", "and then?\ngo on")]
    assert "new conversation (session" in done.stderr
    assert f"carrying on session {old['id'][:8]}" in done.stderr
    assert re.search(r"other/model +3 ", done.stdout), done.stdout
    saved = json.loads((tmp_path / "conversation.json").read_text())
    assert saved["session_id"] == old["id"]
    assert [m["role"] for m in saved["messages"]] == ["user", "assistant", "user", "assistant"]
    assert sorted(s["runs"] for s in sessions(tmp_path)) == [1, 2]


def test_piped_chat_without_a_session_keeps_the_history_in_memory(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("A."), reply("B.")) as server:
        done = chat(
            server, tmp_path, "first\nsecond\n", "--no-servers", "--no-session", "--system", "Be brief."
        )
        bodies = server.chat_bodies
    assert done.code == 0, done.stderr
    assert texts(bodies[1]) == [
        ("system", "Be brief."),
        ("user", "first"),
        ("assistant", "A."),
        ("user", "second"),
    ]
    assert sessions(tmp_path) == []


def test_continue_carries_on_the_last_session_of_the_directory(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("Noted: blue."), reply("Blue.")) as server:
        chat(server, tmp_path, "my colour is blue\n", "--no-servers")
        done = chat(server, tmp_path, "what is my colour?\n", "--no-servers", "--continue")
        bodies = server.chat_bodies
    assert done.code == 0, done.stderr
    assert texts(bodies[1])[:2] == [("user", "my colour is blue"), ("assistant", "Noted: blue.")]
    [session] = sessions(tmp_path)
    assert session["runs"] == 2


def test_a_failed_turn_says_why_the_chat_goes_on_and_the_exit_code_is_the_first_failure(
    tmp_path: Path,
) -> None:
    with ScriptedOpenRouter(error(400, "Bad input"), reply("Fine now.")) as server:
        done = chat(server, tmp_path, "one\n/nope\ntwo\n", "--no-servers", "--retries", "0")
    assert done.code == 1, done.stderr
    assert done.stdout == "Fine now.\n"
    assert "error: " in done.stderr and "unknown command /nope" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--no-session", "--continue"],
            "error: --continue: a chat that stores nothing cannot carry on a session",
        ),
        (["--resume", "nosuch"], "error: --resume: no session 'nosuch'"),
    ],
)
def test_a_session_that_cannot_be_carried_on_is_a_usage_error(
    tmp_path: Path, args: list[str], message: str
) -> None:
    with ScriptedOpenRouter() as server:
        done = chat(server, tmp_path, "hi\n", "--no-servers", *args)
    assert done.code == 2
    assert done.stderr.strip().splitlines()[-1].startswith(message), done.stderr
