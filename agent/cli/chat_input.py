r"""What ``agent chat`` reads at a terminal: a line editor with history, completion and multi-line input.

Enter sends the message. Esc Enter (Alt-Enter) starts a new line, as does Enter after a line
ending in ``\``. Up and Down walk the input history, kept in ``chat_history`` in the user data
directory. Tab (or typing) completes slash commands, and model ids after ``/model`` and
``/fallback``. Ctrl-C clears the line, Ctrl-D on an empty line leaves (``read`` raises
``KeyboardInterrupt`` and ``EOFError`` for the caller to act on).

prompt_toolkit draws on the terminal itself, so it writes to the raw stream, not through
:class:`~agent.cli.terminal.SafeStream` (which would strip its control sequences); what it shows
is the person's own typing and the completions, and model ids offered for completion are
restricted to plain characters first.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.output import Output, create_output

__all__ = ["HISTORY_FILE", "ChatPrompt", "completions"]

HISTORY_FILE = "chat_history"
"""The input history's file name in the user data directory."""

_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9/._:~@+-]{0,199}")
"""What a model id offered for completion may look like (catalog ids are upstream text)."""
_SHOWN_MODELS = 200


def completions(
    text: str, commands: Sequence[str], model_commands: Sequence[str], models: Iterable[str]
) -> list[str]:
    """What the word being typed at the end of ``text`` may become (the whole word, each).

    A first word starting with ``/`` completes to a command; the words after a command of
    ``model_commands`` complete to model ids: those starting with what is typed, then those
    containing it.
    """
    if not text.startswith("/") or "\n" in text:
        return []
    if " " not in text:
        return [name for name in commands if name.startswith(text)]
    command, _, rest = text.partition(" ")
    if command not in model_commands:
        return []
    word = rest.rsplit(" ", 1)[-1]
    ids = [m for m in models if _MODEL_ID.fullmatch(m)]
    starting = sorted(m for m in ids if m.startswith(word))
    inside = sorted(m for m in ids if word and word in m and not m.startswith(word))
    return (starting + inside)[:_SHOWN_MODELS]


class _ChatCompleter(Completer):
    """prompt_toolkit's completer over :func:`completions`."""

    def __init__(
        self, commands: Sequence[str], model_commands: Sequence[str], models: Callable[[], Iterable[str]]
    ) -> None:
        self.commands = commands
        self.model_commands = model_commands
        self.models = models

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        """Completions of the word before the cursor."""
        text = document.text_before_cursor
        word = text.rsplit(" ", 1)[-1]
        for choice in completions(text, self.commands, self.model_commands, self.models()):
            yield Completion(choice, start_position=-len(word))


def _bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _send(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        document = buffer.document
        if document.is_cursor_at_the_end and document.text.endswith("\\"):
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _new_line(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


def _history(path: Path | None) -> History:
    """The input history in ``path`` (created private), or in memory when it cannot be kept."""
    if path is None:
        return InMemoryHistory()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


def _terminal_output() -> Output:
    stream = sys.stdout if sys.stdout.isatty() else sys.stderr
    return create_output(stdout=getattr(stream, "raw", stream))


class ChatPrompt:
    """The chat's input line at a terminal.

    Args:
        history_file: where the input history is kept (None: in memory only).
        commands: the slash commands, for completion.
        model_commands: the commands whose arguments are model ids.
        models: the model ids to complete (asked each time: the catalog may load later).
    """

    def __init__(
        self,
        *,
        history_file: Path | None,
        commands: Sequence[str],
        model_commands: Sequence[str],
        models: Callable[[], Iterable[str]],
    ) -> None:
        self.output = _terminal_output()
        self.session: PromptSession[str] = PromptSession(
            "> ",
            multiline=True,
            prompt_continuation=". ",
            key_bindings=_bindings(),
            completer=_ChatCompleter(commands, model_commands, models),
            complete_while_typing=True,
            history=_history(history_file),
            output=self.output,
        )

    async def read(self) -> str:
        """The next message typed.

        Raises:
            KeyboardInterrupt: Ctrl-C (the line is dropped).
            EOFError: Ctrl-D on an empty line.
        """
        return await self.session.prompt_async()

    async def confirm(self, question: str) -> bool:
        """Ask a yes/no question (no history, no completion); Ctrl-C or Ctrl-D is no."""
        asker: PromptSession[str] = PromptSession(output=self.output)
        try:
            answer = await asker.prompt_async(question, handle_sigint=False)
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")
