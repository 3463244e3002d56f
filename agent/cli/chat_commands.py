"""The slash commands of ``agent chat``: the model, fallbacks, tools, servers, cost, the conversation.

Each command is one line typed instead of a message. Listings (``/help``, ``/tools``,
``/servers``, ``/cost``, ``/model`` and ``/fallback`` without arguments) go to stdout; what a
command changed, and its mistakes (one ``error:`` line, the chat goes on), go to stderr.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.exit_codes import EXIT_USAGE
from agent.cli.render import describe_error
from agent.cli.tables import format_cost, text_table
from agent.errors import AgentError, ConfigError
from agent.text import one_line

if TYPE_CHECKING:
    from agent.cli.chat import Chat

__all__ = [
    "COMMANDS",
    "COMMAND_NAMES",
    "MODEL_COMMANDS",
    "Command",
    "conversation_markdown",
    "run_slash_command",
]

MODEL_COMMANDS = ("/model", "/fallback")
"""Commands whose arguments are model ids (completed from the catalog)."""


@dataclass(frozen=True)
class Command:
    """One slash command: how it is written, what it does, and its body."""

    name: str
    usage: str
    help: str
    run: Callable[[Chat, list[str]], Awaitable[bool | None]]
    """Given the chat and the command's words; returns False to leave the chat."""


async def run_slash_command(chat: Chat, text: str) -> bool:
    """Run the command ``text`` (``/name args...``); False when the chat should end."""
    name, *args = text.split()
    command = _BY_NAME.get(name.lower())
    if command is None:
        chat.error(
            f"unknown command {one_line(name, 40)}; the commands are {', '.join(COMMAND_NAMES)} "
            "(// starts a message with /)",
            EXIT_USAGE,
        )
        return True
    try:
        keep = await command.run(chat, args)
    except AgentError as exc:
        for line in describe_error(exc, verbose=chat.output.verbose):
            chat.note(line)
        chat.failure = chat.failure or exc.exit_code
        return True
    return keep is not False


def _no_arguments(name: str, args: Sequence[str]) -> None:
    if args:
        raise ConfigError(f"takes no arguments, got {one_line(' '.join(args), 80)!r}", source=name)


async def _help(chat: Chat, args: list[str]) -> None:
    _no_arguments("/help", args)
    width = max(len(c.usage) for c in COMMANDS)
    lines = [f"{c.usage.ljust(width)}  {c.help}" for c in COMMANDS]
    lines.append("//TEXT".ljust(width) + "  send TEXT starting with / as a message")
    if chat.terminal:
        from agent.cli.chat import KEYS

        lines += ["", KEYS]
    else:
        lines += ["", "Each line of stdin is a message; a line ending in \\ goes on with the next."]
    chat.say("\n".join(lines))


async def _model(chat: Chat, args: list[str]) -> None:
    if not args:
        chat.say(f"model: {chat.agent.model_id}")
        return
    if len(args) > 1:
        raise ConfigError("give one model id", source="/model")
    model = await chat.agent.use_model(args[0])
    chat.note(f"model: {model} (from the next message on)")
    resolved = chat.agent.resolved
    if resolved is not None and resolved.in_catalog is False:
        close = f"; did you mean {' or '.join(resolved.suggestions)}?" if resolved.suggestions else ""
        chat.note(f"warning: {model} is not in the model catalog{close}")


async def _fallback(chat: Chat, args: list[str]) -> None:
    agent = chat.agent
    if args:
        chosen = [] if [a.lower() for a in args] == ["none"] else args
        await agent.use_model(fallbacks=chosen)
    own = agent.options.fallbacks
    configured = agent.endpoint.provider.config.fallback_models
    text = f"fallbacks: {', '.join(own) if own else 'none'}"
    if configured:
        text += f" (then the provider file's: {', '.join(configured)})"
    if args:
        chat.note(text)
    else:
        chat.say(text)


async def _tools(chat: Chat, args: list[str]) -> None:
    from agent.cli.servers import tool_rows

    _no_arguments("/tools", args)
    entries = await chat.agent.list_tools()
    if entries:
        chat.say("\n".join(tool_rows(entries)))
    servers = len({e.server for e in entries})
    chat.note(
        f"info: {len(entries)} tool{'' if len(entries) == 1 else 's'} from "
        f"{servers} server{'' if servers == 1 else 's'}"
    )


async def _servers(chat: Chat, args: list[str]) -> None:
    from agent.cli.servers import server_rows

    _no_arguments("/servers", args)
    entries = await chat.agent.list_servers()
    if entries:
        chat.say("\n".join(server_rows(entries)))
    else:
        chat.note("info: no MCP servers are attached")


async def _cost(chat: Chat, args: list[str]) -> None:
    _no_arguments("/cost", args)
    if not chat.tally:
        chat.say("no requests yet")
        return
    rows = []
    total_requests, total = 0, None
    for model, tally in chat.tally.items():
        usage = tally.usage
        rows.append(
            [
                one_line(model, 60),
                str(tally.requests),
                f"{usage.prompt_tokens:,}",
                f"{usage.completion_tokens:,}",
                format_cost(usage.cost),
            ]
        )
        total_requests += tally.requests
        total = usage if total is None else total + usage
    if len(rows) > 1 and total is not None:
        rows.append(
            [
                "total",
                str(total_requests),
                f"{total.prompt_tokens:,}",
                f"{total.completion_tokens:,}",
                format_cost(total.cost),
            ]
        )
    headers = ["MODEL", "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST"]
    chat.say("\n".join(text_table(headers, rows, right={1, 2, 3, 4})))


async def _clear(chat: Chat, args: list[str]) -> None:
    _no_arguments("/clear", args)
    before = chat.session_id
    chat.clear()
    kept = f" (session {before[:8]} stays stored: /resume {before[:8]})" if before else ""
    chat.note(f"new conversation{kept}")


async def _resume(chat: Chat, args: list[str]) -> None:
    if len(args) != 1:
        raise ConfigError("give one session id (agent sessions list shows them)", source="/resume")
    if not chat.stored:
        raise ConfigError("this chat stores nothing (--no-session): no session to carry on", source="/resume")
    chat.carry_on(args[0])


def _save_path(cwd: Path, name: str) -> Path:
    """Where ``/save NAME`` writes: ``~`` is the home directory, a relative NAME is in ``cwd``."""
    return cwd / Path(name).expanduser()  # (an absolute NAME stays as it is)


async def _save(chat: Chat, args: list[str]) -> None:
    if len(args) != 1:
        raise ConfigError("give one file name: FILE.json for JSON, else Markdown", source="/save")
    path = _save_path(chat.agent.endpoint.cwd, args[0])
    shown = one_line(str(path), 200)
    messages = chat.messages()
    if not messages:
        raise ConfigError("nothing to save yet", source="/save")
    if path.exists() and not await chat.confirm(f"{shown} exists; overwrite it? [y/N] "):
        raise ConfigError(f"{shown} exists; not overwritten (give another name)", source="/save")
    if path.suffix.lower() == ".json":
        document = {"session_id": chat.session_id, "model": chat.agent.model_id, "messages": messages}
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    else:
        text = conversation_markdown(messages, session_id=chat.session_id, model=chat.agent.model_id)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {shown}: {exc.strerror or exc}", source="/save") from exc
    chat.note(f"saved {len(messages)} message{'' if len(messages) == 1 else 's'} to {shown}")


def conversation_markdown(messages: Sequence[dict[str, Any]], *, session_id: str | None, model: str) -> str:
    """The conversation as a Markdown page (as ``agent sessions show`` writes a session)."""
    from agent.sessions.export import message_markdown

    lines = ["# Chat", "", f"- model: `{model}`"]
    if session_id:
        lines.append(f"- session: `{session_id}`")
    for message in messages:
        lines += ["", *message_markdown(message)]
    return "\n".join(lines) + "\n"


async def _exit(chat: Chat, args: list[str]) -> bool:
    _no_arguments("/exit", args)
    return False


COMMANDS = (
    Command("/model", "/model [ID]", "show the model, or switch to ID (Tab completes catalog ids)", _model),
    Command(
        "/fallback",
        "/fallback [ID...]",
        "show the fallback models, or set them (/fallback none: no fallbacks)",
        _fallback,
    ),
    Command("/tools", "/tools", "the tools of the attached servers", _tools),
    Command("/servers", "/servers", "the attached MCP servers and their state", _servers),
    Command("/cost", "/cost", "this chat's requests, tokens and cost, per model", _cost),
    Command("/clear", "/clear", "start a new conversation (a new session; the old one stays stored)", _clear),
    Command(
        "/save",
        "/save FILE",
        "write the conversation to FILE: JSON if FILE ends in .json, else Markdown",
        _save,
    ),
    Command("/resume", "/resume ID", "carry on stored session ID (agent sessions list shows them)", _resume),
    Command("/help", "/help", "this list", _help),
    Command("/exit", "/exit", "leave the chat (as Ctrl-D does)", _exit),
)
COMMAND_NAMES = tuple(c.name for c in COMMANDS)
_BY_NAME = {c.name: c for c in COMMANDS} | {"/quit": COMMANDS[-1]}
