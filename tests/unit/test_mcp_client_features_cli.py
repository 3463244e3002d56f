"""What a person sees of servers' progress, logs and requests, and the questions asked at a terminal."""

from __future__ import annotations

import io
import os
from typing import TextIO, cast

import anyio
import pytest
from anyio import wait_all_tasks_blocked

from agent.cli.questions import TerminalQuestions
from agent.cli.render import HumanRenderer
from agent.cli.terminal import SafeStream
from agent.events import (
    ElicitationAnswer,
    ElicitationAnswered,
    ElicitationField,
    ElicitationOption,
    ElicitationRequest,
    SamplingFinished,
    SamplingRequest,
    ServerLog,
    ToolCallFinished,
    ToolProgress,
    ToolsRefreshFailed,
)
from agent.mcp.client_features import Refused
from agent.messages import Usage, UserMessage
from agent.result import ToolCallRecord


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def renderer(*, terminal: bool, verbose: bool = False) -> tuple[HumanRenderer, io.StringIO]:
    raw = Terminal() if terminal else io.StringIO()
    # Unstyled (styled output at a terminal is tested in test_render_styled.py).
    renderer = HumanRenderer(io.StringIO(), cast(TextIO, SafeStream(raw)), verbose=verbose, rich=False)
    return renderer, raw


def progress(n: int, message: str | None = None) -> ToolProgress:
    return ToolProgress(server="s", tool="slow", call_id="c1", progress=n, total=3, message=message)


FINISHED = ToolCallFinished(
    call=ToolCallRecord(
        id="c1", server="s", tool="slow", arguments={}, output="done", is_error=False, duration_ms=5
    )
)


# -- rendering ---------------------------------------------------------------------------------


def test_progress_at_a_terminal_is_one_line_redrawn_and_replaced_by_the_calls_result() -> None:
    render, raw = renderer(terminal=True)
    render(progress(1, "step 1"))
    render(progress(2, "step 2"))
    render(FINISHED)
    assert raw.getvalue() == (
        "\r\x1b[K  … s.slow 1/3 step 1\r\x1b[K  … s.slow 2/3 step 2\r\x1b[K  ✓ s.slow {} (5 ms) ok, 4 chars\n"
    )


def test_a_progress_message_cannot_drive_the_terminal() -> None:
    render, raw = renderer(terminal=True)
    render(progress(1, "\x1b]0;pwned\x07fine\r\x1b[2Jstill\nfine"))
    assert raw.getvalue() == "\r\x1b[K  … s.slow 1/3 finestill fine"


def test_progress_is_not_shown_when_stderr_is_not_a_terminal() -> None:
    render, raw = renderer(terminal=False, verbose=True)
    render(progress(1, "step 1"))
    render(ToolProgress(server="s", tool="slow", call_id="c1", progress=0.5))
    render(FINISHED)
    assert raw.getvalue() == "  ✓ s.slow {} (5 ms) ok, 4 chars\n"


def test_server_logs_show_with_verbose_only_and_cleaned() -> None:
    log = ServerLog(
        server="db", level="warning", logger="sql\x1b[31m", message="disk\x1b]0;x\x07 almost\nfull"
    )
    quiet, quiet_raw = renderer(terminal=False)
    quiet(log)
    loud, loud_raw = renderer(terminal=False, verbose=True)
    loud(log)
    assert quiet_raw.getvalue() == ""
    assert loud_raw.getvalue() == "· db [warning] sql: disk almost full\n"


def test_refused_or_failed_server_requests_are_always_one_warning_line() -> None:
    render, raw = renderer(terminal=False)
    render(SamplingFinished(server="a", approved=False, error="not asked: not at a terminal"))
    render(SamplingFinished(server="a", approved=True, error="model down"))
    render(SamplingFinished(server="a", approved=True, model="m", usage=Usage(total_tokens=9, cost=0.001)))
    render(ElicitationAnswered(server="b", action="decline", reason="not asked: not at a terminal"))
    render(ElicitationAnswered(server="b", action="accept"))
    render(ToolsRefreshFailed(server="c", error="registry locked", tools=4))
    assert raw.getvalue().splitlines() == [
        "warning: MCP server 'a' asked for a model completion (sampling); "
        "refused: not asked: not at a terminal",
        "warning: sampling for MCP server 'a' failed: model down",
        "warning: MCP server 'b' asked for input; declined: not asked: not at a terminal",
        "warning: MCP server 'c' changed its tools, but listing them failed (registry locked); "
        "its 4 known tools stay",
    ]
    verbose, verbose_raw = renderer(terminal=False, verbose=True)
    verbose(SamplingFinished(server="a", approved=True, model="m", usage=Usage(total_tokens=9, cost=0.001)))
    verbose(ElicitationAnswered(server="b", action="accept"))
    assert verbose_raw.getvalue().splitlines() == [
        "· sampling for a: m, 9 tokens, $0.001000",
        "· b asked for input: accept",
    ]


# -- questions at the terminal --------------------------------------------------------------

pytestmark = pytest.mark.anyio

SAMPLING = SamplingRequest(
    server="notes",
    call_id="c1",
    messages=[UserMessage(content="Summarise:\nthe\x1b[2J notes")],
    system_prompt="You summarise.",
    max_tokens=50,
    tools=["files.read"],
)
BOOKING = ElicitationRequest(
    server="diner",
    mode="form",
    message="Book a table?",
    fields=[
        ElicitationField(name="date", title="Date", kind="string", required=True, format="date"),
        ElicitationField(
            name="guests", title="Guests", description="How many", kind="integer", default=2, maximum=12
        ),
        ElicitationField(
            name="seating",
            title="Seating",
            kind="choice",
            default="indoor",
            options=[
                ElicitationOption(value="indoor", title="Inside"),
                ElicitationOption(value="outdoor", title="Out"),
            ],
        ),
        ElicitationField(name="note", title="Note", kind="string"),
    ],
)


def asking(typed: str, *, interactive: bool = True) -> tuple[TerminalQuestions, Terminal, Terminal]:
    render, raw = renderer(terminal=True)
    stdin, stderr = Terminal(typed), Terminal()
    return TerminalQuestions(render, stdin, stderr, interactive=interactive), stderr, raw  # type: ignore[return-value]


async def test_not_at_a_terminal_requests_are_refused_without_asking() -> None:
    questions, stderr, _ = asking("y\n", interactive=False)
    with pytest.raises(Refused) as sampling:
        await questions.approve_sampling(SAMPLING)
    with pytest.raises(Refused) as elicitation:
        await questions.answer_elicitation(BOOKING)
    assert sampling.value.reason == "not asked: not at a terminal (--allow-sampling allows it)"
    assert elicitation.value.reason == "not asked: not at a terminal"
    assert stderr.getvalue() == ""


@pytest.mark.parametrize(("typed", "allowed"), [("y\n", True), ("YES\n", True), ("\n", False), ("", False)])
async def test_a_sampling_request_is_shown_and_allowed_only_on_yes(typed: str, allowed: bool) -> None:
    questions, stderr, _ = asking(typed)
    with anyio.fail_after(5):
        assert await questions.approve_sampling(SAMPLING) is allowed
    assert stderr.getvalue().splitlines()[:5] == [
        "MCP server 'notes' asks the model for a completion (sampling):",
        "  system: You summarise.",
        "  user: Summarise: the\x1b[2J notes",  # one line; the CLI's stderr cleans what is left
        "  up to 50 tokens, 1 messages; tools: files.read",
        "Allow it? [y/N] ",
    ]


async def test_a_form_is_asked_field_by_field_with_defaults_kept_on_enter() -> None:
    questions, stderr, _ = asking("y\n\n2026-08-01\n13\n4\nout\n\n")
    with anyio.fail_after(5):
        answer = await questions.answer_elicitation(BOOKING)
    assert answer == ElicitationAnswer.accept({"date": "2026-08-01", "guests": 4, "seating": "outdoor"})
    assert stderr.getvalue().splitlines() == [
        "MCP server 'diner' asks for input: Book a table?",
        "Answer it? [y/N]   (Enter keeps the value in brackets; Ctrl-D cancels)",
        "  Date (date):     an answer is needed",
        "  Date (date):   Guests (a whole number) — How many [2]:     expected a number of at most 12",
        "  Guests (a whole number) — How many [2]:   Seating (one of 1) Inside, 2) Out) [Inside]: "
        "  Note [optional]: ",
    ]


async def test_a_form_is_declined_on_no_and_cancelled_at_end_of_input() -> None:
    no, _, _ = asking("n\n")
    eof, _, _ = asking("y\n2026-01-01\n")
    with anyio.fail_after(5):
        assert await no.answer_elicitation(BOOKING) == ElicitationAnswer.decline()
        assert await eof.answer_elicitation(BOOKING) == ElicitationAnswer.cancel()


async def test_a_url_request_shows_the_url_and_is_accepted_on_yes() -> None:
    request = ElicitationRequest(
        server="bank", mode="url", message="Sign in", url="https://bank.example.com/oauth?x=1"
    )
    questions, stderr, _ = asking("y\n")
    with anyio.fail_after(5):
        assert await questions.answer_elicitation(request) == ElicitationAnswer.accept()
    assert stderr.getvalue().splitlines()[:2] == [
        "MCP server 'bank' asks you to open a web page: Sign in",
        "  https://bank.example.com/oauth?x=1",
    ]


async def test_a_progress_line_is_erased_before_a_question() -> None:
    questions, _, raw = asking("n\n")
    questions.renderer(progress(1))
    with anyio.fail_after(5):
        await questions.approve_sampling(SAMPLING)
    assert raw.getvalue() == "\r\x1b[K  … s.slow 1/3\r\x1b[K"


async def test_questions_are_asked_one_at_a_time() -> None:
    questions, stderr, _ = asking("y\nn\n")
    answers: list[bool] = []

    async def ask() -> None:
        answers.append(await questions.approve_sampling(SAMPLING))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            tg.start_soon(ask)
    assert sorted(answers) == [False, True]
    block = [
        "MCP server 'notes' asks the model for a completion (sampling):",
        "  system: You summarise.",
        "  user: Summarise: the\x1b[2J notes",
        "  up to 50 tokens, 1 messages; tools: files.read",
    ]
    assert (
        stderr.getvalue() == "\n".join(block) + "\nAllow it? [y/N] " + "\n".join(block) + "\nAllow it? [y/N] "
    )


async def test_a_question_cancelled_while_waiting_leaves_the_typed_lines_to_the_next_questions() -> None:
    read_end, write_end = os.pipe()
    render, _ = renderer(terminal=True)
    with os.fdopen(read_end) as stdin:
        questions = TerminalQuestions(render, stdin, Terminal(), interactive=True)
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(questions.approve_sampling, SAMPLING)
                await wait_all_tasks_blocked()
                tg.cancel_scope.cancel()
            os.write(write_end, b"n\ny\n")
            os.close(write_end)
            answers = [await questions.approve_sampling(SAMPLING) for _ in range(2)]
            assert await questions.approve_sampling(SAMPLING) is False  # end of input: no
    assert answers == [False, True]
