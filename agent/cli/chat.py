r"""``agent chat``: a conversation with one agent, at a terminal or over lines of stdin.

One :class:`~agent.Agent` is entered for the whole chat, so the MCP servers start once. Each
message is one run, ``agent.run(message, ...)``, that carries the conversation on: the first run
opens a session in the store and every later one resumes it (``resume=<session id>``), so the
store holds the chat as one session and a cut-off turn is carried on as ``--continue`` would
carry it (calls that never returned get an error result). With ``--no-session`` the history is
kept in memory instead.

At a terminal the input is read with prompt_toolkit (:mod:`agent.cli.chat_input`), each turn is
rendered by a fresh :class:`~agent.cli.render.HumanRenderer` (streamed answer, dimmed
reasoning, a line per tool call), and approvals are asked as ``agent run`` asks them. Ctrl-C
during a turn cancels that turn (a SIGINT watcher cancels its scope) and the prompt comes back;
Ctrl-D leaves (exit 0). Elsewhere every line of stdin is a message (a line ending in ``\``
goes on with the next), answered on stdout; the exit code is 0 when every turn completed,
else that of the first one that did not (the chat goes on after it).
"""

from __future__ import annotations

import asyncio
import signal
import sys
import termios
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from agent.cli.common import first_agent_error, run_command
from agent.cli.exit_codes import EXIT_OK, exit_code_for
from agent.cli.options import split_values
from agent.cli.render import HumanRenderer, describe_error
from agent.cli.run import servers_line
from agent.errors import AgentError, ConfigError
from agent.events import Event, ModelResponded, RunFinished, RunStarted, SamplingFinished
from agent.messages import Message, Usage
from agent.options import OutputOptions
from agent.result import ErrorInfo, RunResult
from agent.text import one_line

if TYPE_CHECKING:
    from agent.cli.chat_input import ChatPrompt
    from agent.cli.questions import TerminalQuestions
    from agent.core.agent import Agent

__all__ = ["Chat", "Tally", "execute"]

KEYS = (
    "Keys: Enter sends; Esc Enter (or a line ending in \\) starts a new line; Up/Down: earlier input;\n"
    "Tab completes commands and model ids; Ctrl-C cancels a turn or clears the line; Ctrl-D leaves."
)
BANNER = "Enter sends, Esc Enter or a trailing \\ adds a line, Ctrl-C cancels, Ctrl-D leaves; /help for more."


@dataclass
class Tally:
    """What one model cost in this chat: requests and their usage summed."""

    requests: int = 0
    usage: Usage = field(default_factory=Usage)


def execute(values: dict[str, Any]) -> int:
    """Chat as the CLI does and return the exit code; never raises for user mistakes."""
    agent_values, output_values, _own = split_values(values)
    output = OutputOptions(**output_values)
    resume = agent_values.pop("resume", None)
    carry_on = bool(agent_values.pop("continue_session", False))

    async def main() -> int:
        return await _main(agent_values, output, resume=resume, carry_on=carry_on)

    return run_command(main, verbose=output.verbose)


async def _main(values: dict[str, Any], output: OutputOptions, *, resume: str | None, carry_on: bool) -> int:
    from agent.cli.questions import TerminalQuestions
    from agent.cli.trust import settle_project_trust
    from agent.core.agent import Agent
    from agent.options import parse_options

    options = parse_options(values, as_flags=True)
    if options.no_session and (resume is not None or carry_on):
        flag = "--resume" if resume is not None else "--continue"
        raise ConfigError("a chat that stores nothing cannot carry on a session", source=flag)
    terminal = sys.stdin.isatty() and (sys.stdout.isatty() or sys.stderr.isatty())
    settle_project_trust(interactive=terminal)
    chat = Chat(output, terminal=terminal)
    questions = TerminalQuestions(
        chat.renderer, sys.stdin, sys.stderr, interactive=terminal and sys.stderr.isatty()
    )
    agent = Agent(options, on_event=chat.on_event, **questions.agent_hooks())
    async with agent:
        chat.agent, chat.questions = agent, questions
        line = servers_line(agent.servers())
        if line:
            chat.note(line)
        if resume is not None or carry_on:
            chat.carry_on(resume)
        if terminal:
            return await chat.at_terminal()
        return await chat.from_lines()


@contextmanager
def _no_control_echo(terminal: bool) -> Iterator[None]:
    """Keep the terminal from echoing ``^C`` (it would break what the renderer draws in place)."""
    try:
        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd) if terminal else None
    except (OSError, ValueError, termios.error):
        saved = None
    if saved is None:
        yield
        return
    quiet = list(saved)
    quiet[3] &= ~termios.ECHOCTL
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


class Chat:
    """The state of one chat: its agent, its session, what it cost, and how it is shown.

    Args:
        output: the output options (``verbose``).
        terminal: a person types at a terminal (else: messages are lines of stdin).
    """

    def __init__(self, output: OutputOptions, *, terminal: bool) -> None:
        self.output = output
        self.terminal = terminal
        self.renderer = self._renderer()
        self._agent: Agent | None = None
        self.questions: TerminalQuestions | None = None
        self.prompt: ChatPrompt | None = None
        self.session_id: str | None = None
        """The stored session the next turn carries on (None: the next turn starts one)."""
        self.history: list[Message] = []
        """The conversation, with ``--no-session`` only (else the store holds it)."""
        self.tally: dict[str, Tally] = {}
        self.failure = EXIT_OK
        """The exit code of the first turn or command that failed (for scripts)."""

    @property
    def agent(self) -> Agent:
        """The entered agent."""
        assert self._agent is not None
        return self._agent

    @agent.setter
    def agent(self, agent: Agent) -> None:
        self._agent = agent

    @property
    def stored(self) -> bool:
        """Whether turns go to the session store (not ``--no-session``)."""
        return not self.agent.options.no_session

    # -- output ------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Lines the user asked for (a listing, a table) on stdout."""
        self.renderer.close_line()
        sys.stdout.write(text.rstrip("\n") + "\n")
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A line about the chat itself on stderr (styled at a terminal as the renderer styles it)."""
        self.renderer.say(text)

    def error(self, text: str, code: int) -> None:
        """An error line on stderr; remembered as the exit code when it is the first."""
        self.note(f"error: {text}")
        self.failure = self.failure or code

    def _renderer(self) -> HumanRenderer:
        return HumanRenderer(sys.stdout, sys.stderr, verbose=self.output.verbose)

    def on_event(self, event: Event) -> None:
        """Every event of the agent: counted for ``/cost``, then rendered."""
        if isinstance(event, RunStarted) and event.session_id:
            self.session_id = event.session_id  # known before the turn ends (Ctrl-C may end it)
        elif isinstance(event, ModelResponded | SamplingFinished) and event.model and event.usage:
            self._count(event.model, event.usage)
        self.renderer(event)

    def _count(self, model: str, usage: Usage) -> None:
        tally = self.tally.setdefault(model, Tally())
        tally.requests += 1
        tally.usage = tally.usage + usage

    # -- the conversation --------------------------------------------------------------------

    def carry_on(self, resume: str | None) -> None:
        """Carry on a stored session: ``resume`` (an id or its start), else the last one here.

        Raises:
            ConfigError: there is no such session.
        """
        from agent.sessions.resume import choose_session

        store = self.agent.session_store()
        info = choose_session(store, resume=resume, cwd=str(self.agent.endpoint.cwd))
        self.session_id = info.id
        count = len(store.messages(info.id))
        self.note(
            f"carrying on session {info.id[:8]} ({count} message{'' if count == 1 else 's'}, "
            f"{info.runs} turn{'' if info.runs == 1 else 's'}): {one_line(info.title, 80)}"
        )

    def clear(self) -> None:
        """Start a new conversation (and a new session at the next turn)."""
        self.session_id = None
        self.history = []

    def messages(self) -> list[dict[str, Any]]:
        """The conversation so far, each message as stored (JSON objects)."""
        from agent.sessions.recorder import message_record

        if not self.stored:
            return [message_record(m) for m in self.history]
        if self.session_id is None:
            return []
        return [m.message for m in self.agent.session_store().messages(self.session_id)]

    def model_ids(self) -> list[str]:
        """The catalog's model ids (for completion); empty without a catalog."""
        resolved = self.agent.resolved
        catalog = resolved.catalog if resolved is not None else None
        return list(catalog.entries) if catalog is not None else []

    def _carry(self) -> dict[str, Any]:
        if not self.stored:
            return {"history": self.history}
        if self.session_id is None:
            return {}
        return {"resume": self.session_id}

    async def turn(self, text: str) -> None:
        """One message and its answer; Ctrl-C at a terminal cancels it."""
        self.renderer = renderer = self._renderer()
        if self.questions is not None:
            self.questions.renderer = renderer
        ran: list[RunResult] = []

        async def body() -> None:
            ran.append(await self.agent.run(text, **self._carry()))

        if not await self.interruptible(body):
            interrupted = RunResult(
                model=self.agent.model_id,
                stop_reason="error",
                error=ErrorInfo(type="Interrupted", message="interrupted by the user"),
            )
            renderer(RunFinished(result=interrupted))  # the renderer ends the turn as a failed one
            if not self.stored:
                from agent.sessions.resume import repair_history

                self.history[:] = repair_history(self.history)
            self.note("interrupted: the turn is cancelled (the conversation keeps what was done)")
            return
        [result] = ran
        if result.session_id:
            self.session_id = result.session_id
        if result.exception is not None:
            for line in describe_error(result.exception, verbose=self.output.verbose):
                self.note(line)
        elif result.output and not renderer.streamed_text:
            renderer.show_output(result.output)
        renderer.finish(result)
        self.failure = self.failure or exit_code_for(result)

    async def interruptible(self, body: Callable[[], Awaitable[None]]) -> bool:
        """Run ``body``; at a terminal Ctrl-C (SIGINT) cancels it. False when it was cancelled.

        Errors of ``body`` come out as they are (an :class:`AgentError` wrapped by task groups
        inside is unwrapped).
        """
        with anyio.CancelScope() as scope, _no_control_echo(self.terminal):
            loop = asyncio.get_running_loop() if self.terminal else None  # (the CLI runs on asyncio)
            if loop is not None:
                loop.add_signal_handler(signal.SIGINT, scope.cancel)
            try:
                await body()
            except BaseExceptionGroup as group:
                inner = first_agent_error(group)
                if inner is group:
                    raise
                raise inner from group
            finally:
                if loop is not None:
                    loop.remove_signal_handler(signal.SIGINT)
        return not scope.cancelled_caught

    async def handle(self, text: str) -> bool:
        """A message or a slash command (``//`` starts a message with ``/``); False: leave."""
        from agent.cli.chat_commands import run_slash_command

        text = text.strip()
        if not text:
            return True
        if text.startswith("/") and not text.startswith("//"):
            keep = [True]

            async def body() -> None:
                keep[0] = await run_slash_command(self, text)

            if not await self.interruptible(body):
                self.note("interrupted")
            return keep[0]
        await self.turn(text[1:] if text.startswith("//") else text)
        return True

    async def confirm(self, question: str) -> bool:
        """Ask the person a yes/no question; not at a terminal the answer is no."""
        if self.prompt is None:
            return False
        return await self.prompt.confirm(question)

    # -- the two ways of reading input ---------------------------------------------------------

    async def at_terminal(self) -> int:
        """Read messages at the terminal until Ctrl-D (or ``/exit``); exit 0."""
        from agent.cli.chat_commands import COMMAND_NAMES, MODEL_COMMANDS
        from agent.cli.chat_input import HISTORY_FILE, ChatPrompt
        from agent.config.paths import user_data_dir

        endpoint = self.agent.endpoint
        self.prompt = ChatPrompt(
            history_file=user_data_dir(endpoint.env, endpoint.cwd) / HISTORY_FILE,
            commands=COMMAND_NAMES,
            model_commands=MODEL_COMMANDS,
            models=self.model_ids,
        )
        self.note(f"chat with {self.agent.model_id}")
        self.note(BANNER)
        while True:
            try:
                text = await self.prompt.read()
            except KeyboardInterrupt:
                continue
            except EOFError:
                return EXIT_OK
            try:
                if not await self.handle(text):
                    return EXIT_OK
            except AgentError as exc:  # a command's mistake: the chat goes on
                for line in describe_error(exc, verbose=self.output.verbose):
                    self.note(line)

    async def from_lines(self) -> int:
        """Answer each line of stdin; the exit code of the first failure, else 0."""
        async for text in _lines():
            try:
                if not await self.handle(text):
                    break
            except AgentError as exc:
                for line in describe_error(exc, verbose=self.output.verbose):
                    self.note(line)
                self.failure = self.failure or exc.exit_code
        return self.failure


async def _lines() -> AsyncIterator[str]:
    r"""The messages of stdin: one per line, a line ending in ``\`` joined to the next."""
    pending: list[str] = []
    while True:
        line = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
        if not line:
            break
        line = line.rstrip("\r\n")
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        yield "\n".join([*pending, line])
        pending = []
    if pending:
        yield "\n".join(pending)
