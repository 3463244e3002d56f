"""Styled output at a terminal cannot be driven by what a model, a tool or a server wrote.

The answer is drawn as Markdown, lines are coloured, tool output is folded, and tables live:
each of these is fed hostile text (escape sequences, C1 controls, bidirectional overrides,
character references that decode to controls, rich markup such as ``[red]`` or
``[link=...]``, emoji codes, Markdown links to arbitrary URLs). The terminal must only see the
sequences our drawing uses (colours, cursor up, erase line, cursor visibility): never an OSC
(window title, clipboard, OSC 8 hyperlink), never a screen clear, never a control character
from the text; and markup must show as written, never as style or link.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from agent.cli import style
from agent.cli.render import HumanRenderer
from agent.events import ToolCallStarted, ToolProgress
from tests.integration.cli_helpers import FIXTURE_SERVER, agent_env, at_a_terminal
from tests.integration.terminal_screen import screen
from tests.loopback import ScriptedOpenRouter, call, error, reply

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x9b31m\x1bPq\x1b\\\r\x08\x7f\u202e"
MARKUP = "[red]alarm[/red] [link=https://evil.example/m]click[/link] [bold]loud :smile:"
REFERENCES = "&#x202E;&#13;&#x9b;&#27;[2J&#x7f;"
FIXTURE = f"{sys.executable} {FIXTURE_SERVER}"
OURS = re.compile(r"\x1b\[(?:[0-9;]*m|\?25[hl]|2?K|\d*A)")
"""The only sequences styled output writes."""
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_only_our_sequences(transcript: str) -> None:
    """Nothing but our drawing's sequences, and no control character from the text."""
    rest = OURS.sub("", transcript).replace("\r", "")
    found = sorted({f"U+{ord(c):04X}" for c in CONTROLS.findall(rest)})
    assert found == [], f"control characters reached the terminal: {found} in {rest!r}"
    assert "\x1b]" not in transcript and "\x1b[2J" not in transcript


def run_at_terminal(server: ScriptedOpenRouter, home: Path, *args: str) -> tuple[int, str]:
    code, terminal, _ = at_a_terminal(
        list(args), agent_env(server.base_url, home), home, lambda seen: None, stdout_too=True
    )
    return code, terminal


def test_a_hostile_markdown_answer_is_drawn_without_its_escapes_markup_or_links(tmp_path: Path) -> None:
    answer = (
        f"# Title {HOSTILE}\n\n{MARKUP} {REFERENCES}\n\n"
        f"- [a link](https://evil.example/x) ![img](https://evil.example/i.png)\n"
        f"- <https://evil.example/auto>\n\n```{HOSTILE}\ncode {HOSTILE}\n```\n\n"
        f"| a | b{HOSTILE} |\n|---|---|\n| 1 | 2 |\n"
    )
    with ScriptedOpenRouter(reply(answer, piece_size=7)) as server:
        code, terminal = run_at_terminal(server, tmp_path, "run", "hi", "--no-servers")
    assert code == 0, terminal
    assert_only_our_sequences(terminal)
    shown = "\n".join(screen(terminal))
    assert "[red]alarm[/red]" in shown and "[link=https://evil.example/m]click[/link]" in shown
    assert ":smile:" in shown  # not an emoji
    assert "https://evil.example/x" in shown  # a link's address is shown as text


def test_hostile_tool_names_arguments_and_output_are_drawn_cleaned_and_literal(tmp_path: Path) -> None:
    message = f"{HOSTILE}{MARKUP}\n" + "\n".join(f"line {n} {HOSTILE}" for n in range(30))
    with ScriptedOpenRouter(
        reply(None, call("echo", {"message": message}), call(f"evil{HOSTILE}[red]", {"x": MARKUP})),
        reply("done"),
    ) as server:
        _, terminal = run_at_terminal(  # (the loopback then refuses the bad name in the history)
            server, tmp_path, "run", "hi", "-s", FIXTURE, "--approval", "off", "--verbose"
        )
    assert_only_our_sequences(terminal)
    shown = "\n".join(screen(terminal))
    assert "[red]alarm[/red]" in shown  # the arguments and the folded output, as written
    assert "more lines" in shown


def test_a_hostile_upstream_error_is_one_red_line_shown_as_written(tmp_path: Path) -> None:
    raw = json.dumps({"error": {"message": f"Unsupported{HOSTILE} {MARKUP}"}})
    with ScriptedOpenRouter(
        error(
            400,
            f"Provider returned error{HOSTILE} {MARKUP}",
            metadata={"raw": raw + HOSTILE, "provider_name": MARKUP},
        )
    ) as server:
        code, terminal = run_at_terminal(server, tmp_path, "run", "hi", "--no-servers", "--verbose")
    assert code == 1
    assert_only_our_sequences(terminal)
    shown = " ".join(screen(terminal))
    assert "[red]alarm[/red]" in shown and "[link=https://evil.example/m]click[/link]" in shown


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("text", [HOSTILE, MARKUP, REFERENCES, HOSTILE[:3], "\x1b[", "\x9b"])
def test_the_spinner_shows_a_hostile_progress_message_cleaned_and_literal(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(style, "PLAIN", False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    progress = Terminal()
    render = HumanRenderer(Terminal(), progress)
    render(ToolCallStarted(id="c1", server=f"s{text}", tool=f"t{text}", arguments={}))
    render(ToolProgress(server="s", tool="t", call_id="c1", progress=1, message=f"{text} [red]x"))
    render.clear_progress()
    assert_only_our_sequences(progress.getvalue())
    shown = progress.getvalue()
    assert "[red]" in shown or "red]x" in shown  # markup as written (a cut-off escape eats a "[")
