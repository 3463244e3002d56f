"""The real ``agent`` at a pseudo-terminal: spinner, Markdown answer, coloured lines, footer, live tables.

Each test reads what the terminal showed: the whole transcript (frames included) for what was
drawn on the way, and :func:`screen` (the transcript played back) for what stays on the screen.
Not at a terminal, or with ``--plain``/``NO_COLOR``/``TERM=dumb``, the output is plain text.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.integration.cli_helpers import FIXTURE_SERVER, agent_env, at_a_terminal, run_agent_cli
from tests.integration.terminal_screen import ESCAPES, screen, snapshots
from tests.loopback import ScriptedOpenRouter, call, credits_error, delayed, error_chunk, reply
from tests.loopback.simulated import SIMULATED, simulated_catalog

MODEL = "test/model"
FIXTURE = f"{sys.executable} {FIXTURE_SERVER}"
MARKDOWN = "# Plan\n\nSome **bold** words and `code`.\n\n- one\n- two\n\nDone."


def nothing_typed(seen: bytes) -> None:
    return None


def run_at_terminal(
    server: ScriptedOpenRouter, home: Path, *args: str, stdout_too: bool = False, **env: str
) -> tuple[int, str, str]:
    return at_a_terminal(
        list(args), agent_env(server.base_url, home, **env), home, nothing_typed, stdout_too=stdout_too
    )


def test_a_spinner_counts_the_seconds_until_the_first_token_and_is_gone_after(tmp_path: Path) -> None:
    with ScriptedOpenRouter(delayed(0.6, reply("Hello there"))) as server:
        code, terminal, stdout = run_at_terminal(server, tmp_path, "run", "hi", "-m", MODEL, "--no-servers")
    assert code == 0, terminal
    drawn = ESCAPES.sub("", terminal)
    seconds = [float(s) for s in re.findall(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting for test/model… (\d+\.\d)s", drawn)]
    assert seconds and max(seconds) >= 0.3, drawn  # it counted while the model was silent
    assert not any("waiting" in line for line in screen(terminal))
    assert stdout == "Hello there\n"  # piped: the answer as plain text


def test_the_answer_is_drawn_as_markdown_and_a_footer_follows(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(MARKDOWN)) as server:
        code, terminal, _ = run_at_terminal(
            server, tmp_path, "run", "hi", "-m", MODEL, "--no-servers", stdout_too=True
        )
    assert code == 0, terminal
    shown = screen(terminal)
    assert [line.strip() for line in shown] == [
        "Plan",
        "",
        "Some bold words and code.",
        "",
        "• one",
        "• two",
        "",
        "Done.",
        "10 tokens in, 5 out · $0.0010 · 1 turn · " + shown[-1].rsplit(" · ", 1)[-1],
    ]
    assert re.fullmatch(r"\d+ ms|\d+\.\d s", shown[-1].rsplit(" · ", 1)[-1])
    assert "\x1b[1mbold\x1b[0m" in terminal


def test_a_partial_answer_discarded_by_a_retry_stays_drawn_and_is_marked(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        error_chunk(reply("I will now say someth"), code=502, message="Upstream went away"),
        reply("Whole **answer**"),
    ) as server:
        code, terminal, _ = run_at_terminal(
            server, tmp_path, "run", "hi", "-m", MODEL, "--no-servers", "--retries", "1", stdout_too=True
        )
    assert code == 0, terminal
    shown = screen(terminal)
    assert shown[:2] == ["I will now say someth", "[partial answer discarded: retrying]"]
    assert "Whole answer" in shown
    assert any(line.startswith("warning: test/model: the provider is unavailable (502)") for line in shown)


def test_tool_calls_are_coloured_lines_and_verbose_folds_their_output(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(None, call("add", {"a": 2, "b": 3})), reply("5")) as server:
        code, terminal, stdout = run_at_terminal(
            server, tmp_path, "run", "add", "-m", MODEL, "-s", FIXTURE, "--approval", "off", "--verbose"
        )
    assert code == 0, terminal
    [tool_line] = [line for line in screen(terminal) if "✓" in line]
    assert re.fullmatch(r'  ✓ \S+\.add \{"a":2,"b":3\} \(\d+ ms\) ok, 1 chars', tool_line)
    assert "    │ 5" in screen(terminal)  # --verbose: the output, folded
    assert "\x1b[32m✓" in terminal
    assert stdout == "5\n"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--plain"], {}),
        ([], {"NO_COLOR": "1"}),
        ([], {"AGENT_PLAIN": "1"}),
    ],  # TERM=dumb takes the same path (tests/unit/test_render_styled.py checks that it asks for it)
    ids=["--plain", "NO_COLOR", "AGENT_PLAIN"],
)
def test_plain_text_has_no_escape_sequences_at_all(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    with ScriptedOpenRouter(
        delayed(0.3, reply(None, call("add", {"a": 2, "b": 3}), reasoning="Adding.")), reply("**Five**.")
    ) as server:
        code, terminal, _ = run_at_terminal(
            server,
            tmp_path,
            *args,
            "run",
            "add",
            "-m",
            MODEL,
            "-s",
            FIXTURE,
            "--approval",
            "off",
            stdout_too=True,
            **env,
        )
    assert code == 0, terminal
    assert "\x1b" not in terminal
    assert "**Five**." in terminal.splitlines()  # the answer as written
    assert re.search(r'  ✓ \S+\.add \{"a":2,"b":3\} \(\d+ ms\) ok, 1 chars\n', terminal)


def test_an_error_is_one_red_line_and_a_hint_with_the_next_step(tmp_path: Path) -> None:
    with ScriptedOpenRouter(credits_error(), credits_error()) as server:
        code, terminal, stdout = run_at_terminal(server, tmp_path, "run", "hi", "-m", MODEL, "--no-servers")
        piped = run_agent_cli(
            "run", "hi", "-m", MODEL, "--no-servers", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert (code, stdout, piped.code) == (4, "", 4)
    shown = screen(terminal)
    first = piped.stderr.splitlines()[0]  # the same first line as for a script
    assert first.startswith("error: ")
    assert " ".join(shown[:-1]) == first
    assert shown[-1] == "hint: `agent key` shows the credits used and what is left"
    assert "\x1b[1;31merror: " in terminal
    assert "hint:" not in piped.stderr


def test_probe_fills_a_live_table_at_a_terminal_then_prints_the_plain_table(tmp_path: Path) -> None:
    models = ["sim/capable", "sim/no-tools", "sim/sequential"]
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=simulated_catalog()) as server:
        code, terminal, stdout = run_at_terminal(server, tmp_path, "probe", *models, "--concurrency", "2")
        piped = run_agent_cli("probe", *models, env=agent_env(server.base_url, tmp_path), cwd=tmp_path)
    assert code == 0, terminal
    header = ["MODEL", "CHECKS", "PASSED", "COST", "TIME"]
    tables = [
        frame[index + 2 : index + 5]  # the rows under the header and its rule
        for frame in snapshots(terminal)
        for index, line in enumerate(frame)
        if line.split() == header
    ]
    assert tables, terminal
    last = {row.split()[0]: row.split()[1:3] for row in tables[-1]}
    assert last["sim/capable"] == ["✓✓✓✓✓✓✓✓", "8/8"]
    assert last["sim/no-tools"] == ["✗------✓", "1/2"]
    assert any(re.search(r"sim/\S+\s+[✓✗!·-]*·+\s.*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+\.\ds", row) for f in tables for row in f)
    assert "info: sim/capable" not in terminal  # the table says it
    times = re.compile(r"\d+(?:\.\d)? m?s$")  # (and the padding before them)
    assert [" ".join(times.sub("", line).split()) for line in stdout.splitlines()] == [
        " ".join(times.sub("", line).split()) for line in piped.stdout.splitlines()
    ]


def test_compare_fills_a_live_table_at_a_terminal(tmp_path: Path) -> None:
    slow = {"a/x": [delayed(0.5, reply("Hi from x"))], "b/y": [delayed(0.3, reply("Hi from y"))]}
    with ScriptedOpenRouter(models=slow) as server:
        code, terminal, stdout = run_at_terminal(
            server, tmp_path, "compare", "hello", "-m", "a/x", "-m", "b/y", "--no-servers"
        )
    assert code == 0, terminal
    drawn = ESCAPES.sub("", terminal)
    assert re.search(r"MODEL\s+OUTCOME\s+PROTOCOL\s+TURNS\s+TOOL CALLS\s+TOKENS\s+COST\s+TIME", drawn)
    assert re.search(r"a/x\s+·.*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \d+\.\ds", drawn)
    final = next(
        frame
        for frame in reversed(snapshots(terminal))
        if any(line.startswith("b/y") and "completed" in line for line in frame)
    )
    assert [line.split()[:3] for line in final if line.startswith(("a/x", "b/y"))] == [
        ["a/x", "completed", "native"],
        ["b/y", "completed", "native"],
    ]
    assert stdout.splitlines()[0].split() == [
        "MODEL",
        "OUTCOME",
        "PROTOCOL",
        "TURNS",
        "TOOL",
        "CALLS",
        "TOKENS",
        "COST",
        "TIME",
    ]
    assert "info:" not in drawn
