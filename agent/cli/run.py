"""``agent run`` / ``agent query``: parse, run one task through :class:`agent.Agent`, render, exit code."""

from __future__ import annotations

import gc
import sys
from typing import Any

import anyio

import agent.cli as agent_cli
from agent.cli.common import first_agent_error, internal_error, read_prompt
from agent.cli.exit_codes import EXIT_INTERRUPTED, EXIT_USAGE, exit_code_for
from agent.cli.options import split_values
from agent.cli.render import HumanRenderer, generation_line, show_error
from agent.cli.terminal import json_safe
from agent.errors import AgentError, ConfigError
from agent.events import (
    ApprovalAnswered,
    Event,
    ModelResponded,
    ReasoningDelta,
    RunFinished,
    RunStarted,
    ServerFailed,
    TextDelta,
    ToolCallFinished,
    ToolProgress,
)
from agent.mcp.report import ServerReport
from agent.options import OutputOptions
from agent.providers.generation import GenerationLookup
from agent.result import ErrorInfo, RunResult

__all__ = ["execute", "servers_line"]

_PROGRESS = (TextDelta, ReasoningDelta, ModelResponded, ToolCallFinished, ToolProgress, ApprovalAnswered)
"""What ``agent query`` leaves out: the answer is printed whole at the end, and progress not at all."""


def servers_line(reports: list[ServerReport]) -> str | None:
    """``servers: fs (7 tools), calc (1 tool), db (disabled)``: what a run has attached."""
    parts = []
    for report in reports:
        if report.status == "active":
            parts.append(f"{report.name} ({report.tools} tool{'' if report.tools == 1 else 's'})")
        else:
            parts.append(f"{report.name} ({report.status})")
    return f"servers: {', '.join(parts)}" if parts else None


class _EventLines:
    """``--events``: each event of the run as one JSON line on stdout, written whole and flushed.

    Events from outside the run (servers starting, ``seq`` 0) are summed up in ``run_started``.
    A run that fails before it starts still gets its ``run_started`` and ``run_finished``.
    """

    def __init__(self) -> None:
        self.last_seq = 0
        self.started = False
        self.finished = False

    def __call__(self, event: Event) -> None:
        if event.seq == 0:
            return
        self.started = self.started or isinstance(event, RunStarted)
        self.finished = self.finished or isinstance(event, RunFinished)
        self.last_seq = event.seq
        sys.stdout.write(json_safe(event.model_dump_json()) + "\n")
        sys.stdout.flush()

    def close(self, result: RunResult) -> None:
        """End the stream with ``result`` if the run did not (it failed, or never started)."""
        if not self.started:
            self(RunStarted(seq=1, model=result.model, tools=0, tool_protocol=result.tool_protocol))
        if not self.finished:
            self(RunFinished(seq=self.last_seq + 1, result=result))


class _Runner:
    """One CLI run: owns the output streams and the renderer."""

    def __init__(self, output: OutputOptions, options: dict[str, Any], *, answer_only: bool = False) -> None:
        self.output = output
        self.answer_only = answer_only
        """``agent query``: stdout gets the final answer only, stderr only what went wrong."""
        machine = output.json_output or output.events
        answer_stream = sys.stderr if machine else sys.stdout
        # agent query: nothing drawn on stderr (no spinner, no footer), the answer as plain text
        quiet = {"rich": False, "footer": False} if answer_only else {}
        self.renderer = HumanRenderer(answer_stream, sys.stderr, verbose=output.verbose, **quiet)
        self.lines = _EventLines() if output.events else None
        self.strict = bool(options.get("strict_servers"))
        self.result = RunResult(model=str(options.get("model") or ""))
        self.generations: list[GenerationLookup] = []

    def on_event(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.result = event.result
        if self.lines is not None:
            self.lines(event)
        if isinstance(event, ServerFailed) and self.strict:
            return  # the run fails on it: the error line says it once
        if self.answer_only and isinstance(event, _PROGRESS):
            return
        self.renderer(event)

    async def main(self, prompt_arg: str | None, values: dict[str, Any]) -> RunResult:
        from agent.cli.trust import settle_project_trust
        from agent.core.agent import Agent
        from agent.options import parse_options

        options = parse_options(values, as_flags=True)
        # PROMPT may be left out when a server prompt starts the run (its last message is the task).
        if prompt_arg is None and options.server_prompt is None:
            raise ConfigError(  # worded as click's other usage errors
                "Missing argument 'prompt'. Give the task, '-' to read it from stdin, "
                "or start from a server prompt with --prompt SERVER:NAME.",
                source="agent run",
            )
        prompt = None if prompt_arg is None else read_prompt(prompt_arg)
        interactive = not (self.output.json_output or self.output.events) and prompt_arg != "-"
        settle_project_trust(interactive=interactive)
        # Servers' requests for the model or for input are asked about at a terminal only.
        from agent.cli.questions import TerminalQuestions

        questions = TerminalQuestions(
            self.renderer,
            sys.stdin,
            sys.stderr,
            interactive=interactive and sys.stdin.isatty() and sys.stderr.isatty(),
        )
        agent = Agent(options, on_event=self.on_event, **questions.agent_hooks())
        self.renderer.waiting("starting")
        async with agent:
            self.result = RunResult(model=agent.model_id, models_tried=[agent.model_id])
            line = None if self.answer_only else servers_line(agent.servers())
            if line:
                self.renderer.say(line)
            if agent_cli.FREEZE_HEAP_AFTER_START:
                # Start-up is over: keep the collector from rescanning every imported object
                # (full collections over them cost 30-50 ms in long runs).
                gc.freeze()
            self.result = await agent.run(prompt)
            if self.output.verbose and self.result.generation_ids:
                self.generations = await agent.generations(self.result.generation_ids)
        return self.result

    def finish(self, result: RunResult, code: int) -> int:
        self.renderer.close_line()
        if result.exception is not None:
            show_error(result.exception, verbose=self.output.verbose)
        if self.lines is not None:
            self.lines.close(result)
        elif self.output.json_output:
            sys.stdout.write(json_safe(result.model_dump_json()) + "\n")
        elif result.output and not self.renderer.streamed_text:
            self.renderer.show_output(result.output)
        sys.stdout.flush()
        self.renderer.finish(result)  # the footer: tokens, cost, turns, time
        for lookup in self.generations:  # --verbose: what OpenRouter billed, after the answer
            sys.stderr.write(generation_line(lookup) + "\n")
        return code


def execute(values: dict[str, Any], *, answer_only: bool = False) -> int:
    """Run the agent as the CLI does and return the exit code; never raises for user mistakes.

    ``answer_only`` (``agent query``): stdout carries the final answer alone, written once the
    run is done, and stderr stays empty unless something goes wrong (``--verbose`` shows all).
    """
    agent_values, output_values, own = split_values(values)
    output = OutputOptions(**output_values)
    if output.json_output and output.events:
        sys.stderr.write("error: agent run: give one of --json and --events, not both\n")
        return EXIT_USAGE
    quiet = answer_only and not (output.verbose or output.json_output or output.events)
    runner = _Runner(output, agent_values, answer_only=quiet)
    try:
        try:
            result = anyio.run(runner.main, own["prompt"], agent_values)
        except BaseExceptionGroup as group:
            raise first_agent_error(group) from group
    except AgentError as exc:
        result = runner.result
        result.fail(exc)
    except KeyboardInterrupt:
        result = runner.result
        result.stop_reason = "error"
        result.error = ErrorInfo(type="Interrupted", message="interrupted by the user")
        runner.renderer.close_line()
        sys.stderr.write("interrupted\n")
        runner.finish(result, EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug of ours: one line (the traceback with --verbose), the JSON still written
        result = runner.result
        result.fail(internal_error(exc, verbose=runner.output.verbose))
    return runner.finish(result, exit_code_for(result))
