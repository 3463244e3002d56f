"""What a person sees of a run: the answer stream, progress lines, and the one error line."""

from __future__ import annotations

import io

import pytest

from agent.cli.render import HumanRenderer, describe_error, fallback_note
from agent.errors import AgentError, ProviderUnavailableError, ServerStartError
from agent.events import Event, FallingBack, ModelResponded, Retrying, RunFinished, TextDelta
from agent.messages import Usage
from agent.result import ErrorInfo, RunResult


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def responded(content: str | None, model: str = "a/x", turn: int = 1, tool_calls: int = 0) -> ModelResponded:
    return ModelResponded(
        turn=turn,
        model=model,
        content=content,
        tool_calls=tool_calls,
        finish_reason="tool_calls" if tool_calls else "stop",
        usage=Usage(),
        duration_ms=1.0,
    )


def finished(
    output: str = "", model: str = "a/x", tried: list[str] | None = None, **fields: object
) -> RunFinished:
    result = RunResult(output=output, model=model, models_tried=tried or [model], **fields)
    return RunFinished(result=result)


RETRY = Retrying(model="a/x", attempt=1, delay=0.5, error="the provider is unavailable (502): gone")
RETRY_LINE = "warning: a/x: the provider is unavailable (502): gone — retrying in 0.5 s (attempt 2)"


def render(renderer: HumanRenderer, *events: Event) -> None:
    for event in events:
        renderer(event)


def piped() -> tuple[HumanRenderer, io.StringIO, io.StringIO]:
    answer, progress = io.StringIO(), io.StringIO()
    return HumanRenderer(answer, progress), answer, progress


def at_terminal() -> tuple[HumanRenderer, Terminal, Terminal]:
    """A terminal drawn unstyled (as by a program embedding the renderer with ``rich=False``)."""
    answer, progress = Terminal(), Terminal()
    return HumanRenderer(answer, progress, rich=False), answer, progress


def test_the_answer_streams_live_only_when_its_stream_is_a_terminal() -> None:
    assert (piped()[0].live, at_terminal()[0].live) == (False, True)


def test_piped_streamed_text_is_held_until_the_turns_response_is_final() -> None:
    renderer, answer, _ = piped()
    render(renderer, TextDelta(text="Hel"), TextDelta(text="lo"))
    assert (answer.getvalue(), renderer.streamed_text) == ("", False)
    render(renderer, responded("Hello"), finished("Hello"))
    assert (answer.getvalue(), renderer.streamed_text) == ("Hello\n", True)


def test_a_piped_partial_answer_discarded_by_a_retry_never_reaches_the_answer_stream() -> None:
    renderer, answer, progress = piped()
    render(
        renderer,
        TextDelta(text="I will now say someth"),
        RETRY,
        TextDelta(text="Whole answer"),
        responded("Whole answer"),
        finished("Whole answer"),
    )
    assert answer.getvalue() == "Whole answer\n"
    assert progress.getvalue() == f"{RETRY_LINE}; the partial answer so far is discarded (not printed)\n"


def test_at_a_terminal_a_discarded_partial_answer_is_marked_where_it_stops() -> None:
    renderer, answer, progress = at_terminal()
    render(renderer, TextDelta(text="I will now say someth"))
    assert answer.getvalue() == "I will now say someth"
    render(
        renderer, RETRY, TextDelta(text="Whole answer"), responded("Whole answer"), finished("Whole answer")
    )
    assert answer.getvalue() == "I will now say someth\n[partial answer discarded: retrying]\nWhole answer\n"
    assert progress.getvalue() == f"{RETRY_LINE}; the partial answer above is discarded\n"


def test_a_retry_before_any_text_mentions_no_partial_answer() -> None:
    renderer, answer, progress = piped()
    render(renderer, RETRY, TextDelta(text="ok"), responded("ok"), finished("ok"))
    assert (answer.getvalue(), progress.getvalue()) == ("ok\n", f"{RETRY_LINE}\n")


def test_a_partial_answer_of_a_model_that_hands_the_turn_to_a_fallback_is_discarded() -> None:
    fall = FallingBack(from_model="a/x", to_model="b/y", error="the provider is unavailable (502): gone")
    events = (
        TextDelta(text="half"),
        fall,
        TextDelta(text="backup answer"),
        responded("backup answer", model="b/y"),
        finished("backup answer", model="b/y", tried=["a/x", "b/y"]),
    )
    renderer, answer, progress = piped()
    render(renderer, *events)
    assert answer.getvalue() == "backup answer\n"
    assert progress.getvalue() == (
        "warning: a/x is unavailable (the provider is unavailable (502): gone); trying b/y\n"
        "note: answered by b/y (a/x was unavailable)\n"
    )
    renderer, terminal, _ = at_terminal()
    render(renderer, *events)
    assert terminal.getvalue() == "half\n[partial answer discarded: trying b/y]\nbackup answer\n"


def test_every_turns_text_is_written_once_in_order() -> None:
    renderer, answer, _ = piped()
    render(
        renderer,
        TextDelta(text="Let me look.\n"),
        responded("Let me look.", tool_calls=1),
        TextDelta(text="Found it."),
        responded("Found it.", turn=2),
        finished("Found it."),
    )
    assert answer.getvalue() == "Let me look.\nFound it.\n"


def test_a_piped_partial_answer_of_a_failed_run_is_dropped() -> None:
    renderer, answer, _ = piped()
    failed = RunResult(stop_reason="error", error=ErrorInfo(type="BadResponseError", message="x"))
    render(renderer, TextDelta(text="half an ans"), RunFinished(result=failed))
    assert (answer.getvalue(), renderer.streamed_text) == ("", False)


def test_a_piped_partial_answer_of_a_run_stopped_by_its_timeout_is_kept() -> None:
    renderer, answer, _ = piped()
    render(renderer, TextDelta(text="half an ans"), finished(stop_reason="timeout"))
    assert answer.getvalue() == "half an ans\n"


@pytest.mark.parametrize(
    ("model", "tried", "note"),
    [
        ("b/y", ["a/x", "b/y"], "note: answered by b/y (a/x was unavailable)"),
        ("m/4", ["m/1", "m/2", "m/3", "m/4"], "note: answered by m/4 (m/1, m/2, m/3 were unavailable)"),
        ("b/y-2025-01-01", ["a/x", "b/y"], "note: answered by b/y-2025-01-01 (a/x was unavailable)"),
        ("a/x", ["a/x", "b/y"], None),
        ("a/x-2025-01-01", ["a/x:free", "b/y"], None),
        ("a/x", ["a/x"], None),
    ],
    ids=["backup", "fourth of a chain", "dated backup", "primary again", "dated primary", "one model"],
)
def test_an_answer_by_a_fallback_model_is_named(model: str, tried: list[str], note: str | None) -> None:
    assert fallback_note(RunResult(output="x", model=model, models_tried=tried)) == note


def test_a_failed_run_names_no_fallback_answer() -> None:
    failed = RunResult(
        model="b/y", models_tried=["a/x", "b/y"], error=ErrorInfo(type="BadResponseError", message="x")
    )
    assert fallback_note(failed) is None


def test_an_error_is_one_line_and_its_details_come_with_verbose() -> None:
    error = ProviderUnavailableError(
        "the provider is unavailable (502): gone",
        status=502,
        metadata={"raw": '{"error":\n {"message": "Overloaded"}}', "provider_name": "Anthropic"},
    )
    assert describe_error(error, verbose=False) == ["error: the provider is unavailable (502): gone"]
    assert describe_error(error, verbose=True) == [
        "error: the provider is unavailable (502): gone",
        "  status: 502",
        "  provider: Anthropic",
        '  upstream: {"error": {"message": "Overloaded"}}',
    ]


def test_an_error_message_with_line_breaks_is_still_one_line() -> None:
    assert describe_error(AgentError("internal error: ValueError: one\ntwo\n"), verbose=False) == [
        "error: internal error: ValueError: one two"
    ]


def test_a_server_that_did_not_start_shows_the_tail_of_its_stderr() -> None:
    error = ServerStartError("exited with code 1", server="fs", stderr_tail="Traceback\n  boom")
    assert describe_error(error, verbose=False) == [
        "error: MCP server 'fs': exited with code 1",
        "  | Traceback",
        "  |   boom",
    ]


def test_a_routed_chain_that_failed_is_named_as_several_models() -> None:
    renderer, _, progress = piped()
    renderer(FallingBack(from_model="m/1, m/2, m/3", to_model="m/4", error="down"))
    assert progress.getvalue() == "warning: m/1, m/2, m/3 are unavailable (down); trying m/4\n"
