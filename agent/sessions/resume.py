"""Carrying on a stored session: which one (``--continue``, ``--resume ID``) and its history.

A run killed while its tools ran leaves an assistant message whose calls have no results;
every provider refuses such a history, so each missing result is filled in with an error
result saying the call did not finish.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.errors import ConfigError
from agent.messages import AssistantMessage, Message, ToolMessage
from agent.sessions.store import SessionInfo, SessionStore, StoredMessage

__all__ = ["UNFINISHED", "choose_session", "repair_history", "restore_history"]

UNFINISHED = "Not finished: the run stopped before this call returned a result."


def choose_session(store: SessionStore, *, resume: str | None, cwd: str) -> SessionInfo:
    """The session to carry on: ``resume`` (an id or its start), else the last one in ``cwd``.

    Raises:
        ConfigError: there is no such session (one line naming the flag).
    """
    if resume is not None:
        try:
            return store.find(resume)
        except ConfigError as exc:
            raise ConfigError(exc.detail, source="--resume") from exc
    last = store.sessions(cwd=cwd, limit=1)
    if not last:
        raise ConfigError(f"no earlier session in {cwd} to continue", source="--continue")
    return last[0]


def restore_history(stored: Sequence[StoredMessage]) -> list[Message]:
    """The messages of a session, as objects, with results for calls that never returned.

    Raises:
        ConfigError: a stored message is not one the runtime wrote.
    """
    from pydantic import TypeAdapter, ValidationError

    try:
        messages = TypeAdapter(list[Message]).validate_python([s.message for s in stored])
    except ValidationError as exc:
        raise ConfigError(
            f"the session store holds a message it cannot read: {exc.errors()[0]['msg']}"
        ) from exc
    return repair_history(messages)


def repair_history(messages: Sequence[Message]) -> list[Message]:
    """``messages`` with an error result for each tool call that never got one (a cut-off run)."""
    repaired: list[Message] = []
    pending: list[tuple[str, str]] = []  # (id, tool name) of calls still owed a result
    for message in messages:
        if pending and not isinstance(message, ToolMessage):
            repaired.extend(_unfinished(pending))
            pending = []
        if isinstance(message, ToolMessage):
            pending = [(cid, name) for cid, name in pending if cid != message.tool_call_id]
        repaired.append(message)
        if isinstance(message, AssistantMessage) and message.tool_calls:
            pending = [(call.id, call.name) for call in message.tool_calls]
    repaired.extend(_unfinished(pending))
    return repaired


def _unfinished(pending: list[tuple[str, str]]) -> list[Message]:
    return [
        ToolMessage(tool_call_id=cid, name=name, content=UNFINISHED, is_error=True) for cid, name in pending
    ]
