"""A stored session written out: JSON lines (the transcript's records) or a readable Markdown page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from agent.sessions.store import SessionInfo, SessionStore

__all__ = ["jsonl_records", "markdown", "message_markdown"]


def jsonl_records(store: SessionStore, info: SessionInfo) -> Iterator[dict[str, Any]]:
    """The session's records: its header, then per run its messages and its events."""
    yield {"type": "session", "session_id": info.id, **{k: v for k, v in info.as_json().items() if k != "id"}}
    events: dict[int, list[dict[str, Any]]] = {}
    for run, event in store.events(info.id):
        events.setdefault(run, []).append(event)
    messages = store.messages(info.id)
    runs = sorted({m.run for m in messages} | set(events))
    for run in runs:
        for m in messages:
            if m.run == run:
                yield {
                    "type": "message",
                    "session_id": info.id,
                    "run": run,
                    "seq": m.seq,
                    "message": m.message,
                }
        for event in events.get(run, []):
            yield {"type": "event", "session_id": info.id, "run": run, "event": event}


def markdown(store: SessionStore, info: SessionInfo) -> str:
    """The conversation as a Markdown page: who said what, each tool call and its result."""
    usage = info.usage
    cost = usage.get("cost")
    lines = [
        f"# Session {info.id}",
        "",
        f"- directory: `{info.cwd}`",
        f"- model: `{info.model}`; servers: {', '.join(f'`{s}`' for s in info.servers) or 'none'}",
        f"- {info.runs} run{'' if info.runs == 1 else 's'}, {info.created} to {info.updated}",
        f"- last run: {info.status}",
        f"- tokens: {usage.get('total_tokens', 0)}; cost: {'unknown' if cost is None else f'${cost:.4f}'}",
    ]
    run = 0
    for stored in store.messages(info.id):
        if stored.run != run:
            run = stored.run
            lines += ["", f"## Run {run}"]
        lines += ["", *message_markdown(stored.message)]
    return "\n".join(lines) + "\n"


def message_markdown(message: dict[str, Any]) -> list[str]:
    """One stored message as Markdown lines: who said it, its text, its tool calls or result."""
    role = message.get("role")
    if role == "tool":
        status = " (error)" if message.get("is_error") else ""
        head = f"**tool** `{message.get('name')}` → call `{message.get('tool_call_id')}`{status}:"
        return [head, "", *_fenced(str(message.get("content", "")))]
    lines = [f"**{role}**:", ""]
    if message.get("reasoning"):
        lines += ["> " + line for line in str(message["reasoning"]).splitlines()] + [""]
    if message.get("content"):
        lines.append(str(message["content"]))
    for call in message.get("tool_calls") or []:
        arguments = call.get("arguments", "{}")
        lines.append(f"- calls `{call.get('name')}` (`{call.get('id')}`): `{json.dumps(arguments)[1:-1]}`")
    return lines


def _fenced(text: str) -> list[str]:
    fence = "```"
    while fence in text:
        fence += "`"
    return [fence + "text", *text.splitlines(), fence]
