"""What a person sees at a terminal: the spinner, the answer drawn as Markdown, coloured lines, the footer.

The streams are in-memory "terminals"; :func:`screen` plays what was written back as a terminal
would show it, so the tests read the screen, not the escape sequences.
"""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console
from rich.markdown import Markdown

from agent.cli import style
from agent.cli.markdown_stream import MarkdownStream, block_starts
from agent.cli.render import HumanRenderer, hint_for, show_error
from agent.cli.screen import console_for
from agent.cli.tables import footer_line
from agent.errors import (
    AgentError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    InsufficientCreditsError,
    ModelNotFoundError,
    NoToolEndpointsError,
    RateLimitError,
    ServerStartError,
)
from agent.events import (
    ModelResponded,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    ToolProgress,
    TurnStarted,
)
from agent.messages import Usage
from agent.result import RunResult, ToolCallRecord
from tests.integration.terminal_screen import ESCAPES, screen

ANSWER = (
    "# Plan\n\nSome **bold** words and `code`.\n\n- one\n- two\n\n1. first\n2. second\n\n"
    "```python\nprint('hi')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\n\nDone."
)


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _terminal_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.setenv("LINES", "20")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    monkeypatch.setattr(style, "PLAIN", False)


def unstyled(raw: str) -> str:
    """What was written, without its escape sequences."""
    return ESCAPES.sub("", raw)


def rendered_whole(text: str) -> list[str]:
    """The screen after rich renders ``text`` as one Markdown document."""
    out = io.StringIO()
    Console(file=out, force_terminal=True, width=60).print(Markdown(text, hyperlinks=False))
    return screen(out.getvalue())


def streamed(text: str, piece: int) -> tuple[list[str], str]:
    out = Terminal()
    stream = MarkdownStream(console_for(out))
    for start in range(0, len(text), piece):
        stream.feed(text[start : start + piece])
    stream.finish()
    return screen(out.getvalue()), out.getvalue()


def responded(content: str | None, tool_calls: int = 0) -> ModelResponded:
    return ModelResponded(
        turn=1,
        model="test/model",
        content=content,
        tool_calls=tool_calls,
        finish_reason="stop",
        usage=Usage(),
        duration_ms=1.0,
    )


def styled_renderer(*, verbose: bool = False) -> tuple[HumanRenderer, Terminal, Terminal]:
    answer, progress = Terminal(), Terminal()
    return HumanRenderer(answer, progress, verbose=verbose), answer, progress


def call_record(output: str = "3", *, is_error: bool = False) -> ToolCallRecord:
    return ToolCallRecord(
        id="c1",
        server="calc",
        tool="evaluate",
        arguments={"expression": "1+2"},
        output=output,
        is_error=is_error,
        duration_ms=15,
    )


# -- the answer as Markdown --------------------------------------------------------------------


@pytest.mark.parametrize("piece", [1, 3, 17, 1000])
def test_a_streamed_answer_ends_on_the_screen_as_rich_draws_the_whole_text(piece: int) -> None:
    shown, _ = streamed(ANSWER, piece)
    assert shown == rendered_whole(ANSWER)
    assert "Some bold words and code." in shown
    assert not any("**" in line or line.startswith("#") for line in shown)


def test_an_answer_taller_than_the_screen_streams_and_ends_whole() -> None:
    text = "\n\n".join(f"Paragraph {n} with **bold** text." for n in range(40))
    shown, _ = streamed(text, 5)
    assert shown == rendered_whole(text)
    assert shown[-1].startswith("Paragraph 39")


def test_a_long_code_block_streams_and_ends_whole() -> None:
    text = "Code:\n\n```\n" + "\n".join(f"line {n}" for n in range(60)) + "\n```\n\nAfter."
    shown, _ = streamed(text, 7)
    assert shown == rendered_whole(text)


LONG_BLOCKS = {
    "list": "\n".join(f"- item {n} with some words" for n in range(40)),
    "ordered": "\n".join(f"{n}. step {n} with some words" for n in range(1, 40)),
    "quote": "\n".join(f"> quoted line {n} with words" for n in range(40)),
    "table": "| a | b |\n|---|---|\n" + "\n".join(f"| {n} | {n * n} |" for n in range(40)),
    "paragraph": "\n".join(f"a long paragraph line {n}" for n in range(40)),
    "heading": "# " + "long heading " * 40,
    "fence": "~~~\n" + "\n".join(f"code {n}" for n in range(60)) + "\n~~~",
}


@pytest.mark.parametrize("kind", list(LONG_BLOCKS))
def test_whatever_long_block_comes_before_the_next_is_drawn_as_in_the_whole_text(kind: str) -> None:
    for after in ("Next paragraph.", "- a list", "```\ncode\n```", "## Heading", "---"):
        text = f"Intro.\n\n{LONG_BLOCKS[kind]}\n\n{after}\n\nEnd."
        assert streamed(text, 11)[0] == rendered_whole(text), (kind, after)


def test_each_block_is_printed_for_good_once_a_later_complete_line_starts_another() -> None:
    assert block_starts("# T\n\npara\n\n- a\n- b\n\n```py\nx\n") == [0, 2, 4, 7]
    out = Terminal()
    stream = MarkdownStream(console_for(out))
    stream.feed("First paragraph.\n\nSecond")
    assert screen(out.getvalue())[0] == "First paragraph."
    stream.feed(" paragraph.")
    stream.finish()
    assert screen(out.getvalue()) == ["First paragraph.", "", "Second paragraph."]


def test_unicode_line_separators_do_not_shift_the_blocks() -> None:
    text = "First\u2028still first.\n\nSecond\u2029para.\n\n- a\u0085b\n\nEnd."
    shown, _ = streamed(text, 2)
    assert shown == rendered_whole(text.replace("\u0085", ""))


def test_rich_markup_and_emoji_codes_in_the_answer_are_shown_as_written() -> None:
    text = "Look: [red]alarm[/red] [link=https://evil.example]click[/link] [bold]x :smile:"
    shown, raw = streamed(text, 4)
    assert " ".join(shown) == text
    assert "\x1b]" not in raw  # no OSC at all, so no OSC 8 link
    assert "\x1b[31m" not in raw


def test_a_markdown_link_shows_its_address_as_text_never_as_a_terminal_link() -> None:
    shown, raw = streamed("See [the docs](https://evil.example/x) and ![img](https://evil.example/i.png).", 6)
    assert "\x1b]8;" not in raw
    assert "https://evil.example/x" in " ".join(shown)


def test_character_references_cannot_smuggle_control_characters_onto_the_screen() -> None:
    _, raw = streamed("a&#x202E;b &#13;c &#x9b;31m d &#27;[2J e &#x7f;", 3)
    assert re.findall(r"[\u202e\r\x9b\x7f]", raw.replace("\r\x1b[2K", "")) == []
    assert "\x1b[2J" not in raw


def test_escape_sequences_split_across_streamed_pieces_never_reach_the_screen() -> None:
    _, raw = streamed(
        "safe \x1b]0;title\x07 and \x1b[2J and \x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\ end", 2
    )
    assert "\x1b]" not in raw and "\x1b[2J" not in raw


# -- the renderer at a terminal ----------------------------------------------------------------


def test_the_spinner_says_what_is_awaited_and_is_erased_when_the_answer_arrives() -> None:
    render, answer, progress = styled_renderer()
    render(RunStarted(model="test/model", tools=0, tool_protocol="native"))
    render(TurnStarted(turn=1))
    assert re.search(r"⠋ waiting for test/model… \d+\.\ds", unstyled(progress.getvalue()))
    render(TextDelta(text="Hello **world**"))
    render(responded("Hello **world**"))
    render(RunFinished(result=RunResult(output="Hello **world**", model="test/model")))
    assert screen(progress.getvalue()) == []
    assert screen(answer.getvalue()) == ["Hello world"]
    assert render.streamed_text


def test_tool_calls_are_coloured_lines_and_the_spinner_names_the_running_tool() -> None:
    render, _, progress = styled_renderer()
    render(ToolCallStarted(id="c1", server="calc", tool="evaluate", arguments={"expression": "1+2"}))
    assert "running calc.evaluate…" in unstyled(progress.getvalue())
    render(ToolProgress(server="calc", tool="evaluate", call_id="c1", progress=1, total=2, message="half"))
    assert "running calc.evaluate 1/2 half…" in unstyled(progress.getvalue())
    render(ToolCallFinished(call=call_record()))
    render(ToolCallFinished(call=call_record("division by zero", is_error=True)))
    assert screen(progress.getvalue()) == [
        '  ✓ calc.evaluate {"expression":"1+2"} (15 ms) ok, 1 chars',
        '  ✗ calc.evaluate {"expression":"1+2"} (15 ms) error:',  # (60 columns)
        "division by zero",
    ]
    raw = progress.getvalue()
    assert "\x1b[32m✓" in raw and "\x1b[1;31m✗" in raw
    assert '\x1b[2m{"expression":"1+2"}' in raw


def test_with_verbose_a_long_tool_output_is_folded_to_its_first_lines() -> None:
    render, _, progress = styled_renderer(verbose=True)
    output = "\n".join(f"row {n}" for n in range(130))
    render(ToolCallFinished(call=call_record(output)))
    shown = screen(progress.getvalue())
    assert shown[1:] == [*(f"    │ row {n}" for n in range(8)), "    … 122 more lines"]


def test_a_progress_line_made_of_rich_markup_is_shown_as_written() -> None:
    render, _, progress = styled_renderer()
    render(ToolCallStarted(id="c1", server="s", tool="t", arguments={}))
    render(ToolProgress(server="s", tool="t", call_id="c1", progress=1, message="[red]x[/red] :smile:"))
    assert "running s.t 1 [red]x[/red] :smile:…" in unstyled(progress.getvalue())


def test_the_footer_says_tokens_cost_turns_and_time_dimmed_at_a_terminal() -> None:
    result = RunResult(
        turns=2, duration_ms=3100, usage=Usage(prompt_tokens=12, completion_tokens=40, cost=0.0012)
    )
    assert footer_line(result) == "12 tokens in, 40 out · $0.0012 · 2 turns · 3.1 s"
    render, _, progress = styled_renderer()
    render.finish(result)
    assert progress.getvalue() == "\x1b[2m12 tokens in, 40 out · $0.0012 · 2 turns · 3.1 s\x1b[0m\n"
    plain_verbose, quiet = io.StringIO(), io.StringIO()
    HumanRenderer(io.StringIO(), plain_verbose, verbose=True).finish(result)
    HumanRenderer(io.StringIO(), quiet).finish(result)
    assert (plain_verbose.getvalue(), quiet.getvalue()) == (footer_line(result) + "\n", "")


def test_plain_text_is_wanted_with_the_flag_no_color_or_a_dumb_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert style.styled(Terminal()) and not style.styled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not style.styled(Terminal())
    monkeypatch.setenv("NO_COLOR", "")  # empty: not set, as no-color.org says
    monkeypatch.setenv("TERM", "dumb")
    assert not style.styled(Terminal())
    monkeypatch.setenv("TERM", "xterm-256color")
    assert style.styled(Terminal())
    monkeypatch.setattr(style, "PLAIN", True)
    assert not style.styled(Terminal())
    render = HumanRenderer(Terminal(), Terminal())
    assert (render.styled, render.styled_answer, render.progress_line, render.dim) == (
        False,
        False,
        False,
        False,
    )


# -- errors ------------------------------------------------------------------------------------


def test_a_hint_names_the_next_step_only_where_there_is_one_and_the_message_lacks_it() -> None:
    cases: list[tuple[AgentError, str | None]] = [
        (
            InsufficientCreditsError("not enough credits (402)"),
            "`agent key` shows the credits used and what is left",
        ),
        (
            AuthenticationError("the API key was refused (401)"),
            "`agent key` asks the endpoint about the key; `agent init` sets up another",
        ),
        (ModelNotFoundError("no model x/y"), "`agent models --search WORD` finds the model's id"),
        (ModelNotFoundError("x/y; look it up with `agent models --search y`"), None),
        (NoToolEndpointsError("no tools (404)"), "`agent models --tools` lists the models that take tools"),
        (RateLimitError("rate limited (429)"), "`agent key` shows the key's rate limits"),
        (
            ServerStartError("MCP server 'fs' did not start", server="fs"),
            "`agent servers` shows each server's status (--verbose: its stderr)",
        ),
        (
            ConfigError("no API key: set OPENROUTER_API_KEY"),
            "`agent init` stores a key (or set it in the environment)",
        ),
        (ConfigError("expected one of auto, native, text", source="--protocol"), None),
        (BadRequestError("the request was rejected (400)"), None),
    ]
    assert [hint_for(exc) for exc, _ in cases] == [hint for _, hint in cases]


def test_an_error_is_one_red_line_and_a_hint_at_a_terminal_and_plain_lines_elsewhere() -> None:
    exc = InsufficientCreditsError("not enough credits for this request (402): [red]Add more[/red]")
    terminal, piped = Terminal(), io.StringIO()
    show_error(exc, verbose=False, stream=terminal)
    show_error(exc, verbose=False, stream=piped)
    assert piped.getvalue() == "error: not enough credits for this request (402): [red]Add more[/red]\n"
    assert " ".join(screen(terminal.getvalue())) == (
        "error: not enough credits for this request (402): [red]Add more[/red] "
        "hint: `agent key` shows the credits used and what is left"
    )
    assert terminal.getvalue().startswith("\x1b[1;31merror: ")
