"""Strict request checks, as real providers behind OpenRouter enforce them (reference §7.17-18).

:func:`check_request` is pure: it returns one line per problem, naming where it is. The
"tools on every turn" rule needs the conversation's earlier requests; :func:`continues` tells
whether a request extends an earlier one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["TOOL_NAME", "check_request", "continues"]

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""Function names OpenRouter accepts (OAS ``ChatFunctionTool``)."""

ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def check_request(body: Any) -> list[str]:
    """Every problem a strict provider would reject ``body`` for; empty when it is acceptable."""
    if not isinstance(body, dict):
        return ["body: expected a JSON object"]
    problems = _check_tools(body.get("tools"))
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, "messages: expected a non-empty list of messages"]
    return problems + _check_messages(messages)


def continues(earlier: Sequence[Any], messages: Sequence[Any]) -> bool:
    """True when ``messages`` extends ``earlier``: the same messages first, then at least one more."""
    return len(earlier) < len(messages) and list(messages[: len(earlier)]) == list(earlier)


def _check_tools(tools: Any) -> list[str]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        return ["tools: expected a list"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, tool in enumerate(tools):
        where = f"tools[{index}]"
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            problems.append(f'{where}: expected {{"type": "function", "function": {{...}}}}')
            continue
        name = function.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            problems.append(f"{where}.function.name: {name!r} does not match {TOOL_NAME.pattern}")
        elif name in seen:
            problems.append(f"{where}.function.name: duplicate tool name {name!r}")
        else:
            seen.add(name)
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, dict):
            problems.append(f"{where}.function.parameters: expected a JSON schema object")
    return problems


def _check_calls(where: str, message: Mapping[str, Any], calls: Any) -> tuple[list[str], list[str]]:
    """Problems of an assistant message's ``tool_calls``, and the ids that must be answered."""
    if not isinstance(calls, list) or not calls:
        return [f"{where}.tool_calls: expected a non-empty list (leave the key out when there are none)"], []
    problems: list[str] = []
    ids: list[str] = []
    for number, call in enumerate(calls):
        at = f"{where}.tool_calls[{number}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(call, dict) or call.get("type") != "function" or not isinstance(function, dict):
            problems.append(
                f'{at}: expected {{"id", "type": "function", "function": {{"name", "arguments"}}}}'
            )
            continue
        call_id = call.get("id")
        if not isinstance(call_id, str) or not call_id:
            problems.append(f"{at}.id: expected a non-empty string")
        elif call_id in ids:
            problems.append(f"{at}.id: duplicate tool call id {call_id!r}")
        else:
            ids.append(call_id)
        name = function.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            problems.append(f"{at}.function.name: {name!r} does not match {TOOL_NAME.pattern}")
        if not isinstance(function.get("arguments"), str):
            problems.append(f"{at}.function.arguments: expected a JSON string")
    content = message.get("content")
    if isinstance(content, str | list) and not (content.strip() if isinstance(content, str) else content):
        problems.append(
            f"{where}.content: a tool-only assistant message must have content null, not {content!r}"
        )
    return problems, ids


def _check_messages(messages: list[Any]) -> list[str]:
    problems: list[str] = []
    pending: list[str] = []  # call ids still to be answered, in order
    asked_at = ""
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(message, dict) or role not in ROLES:
            problems.append(f"{where}: expected an object with role one of {sorted(ROLES)}")
            continue
        if pending and role != "tool":
            problems.append(
                f"{asked_at}: an assistant message with 'tool_calls' must be followed by tool messages "
                f"responding to each 'tool_call_id' before any other message; missing {pending}"
            )
            pending = []
        if role == "tool":
            problems += _answer(where, message, pending, asked_at)
        elif role == "assistant" and "tool_calls" in message and message["tool_calls"] is not None:
            found, pending = _check_calls(where, message, message["tool_calls"])
            problems += found
            asked_at = where
        elif role == "assistant" and message.get("content") in (None, "", []):
            problems.append(f"{where}: an assistant message needs content or tool_calls")
    if pending:
        problems.append(f"{asked_at}: the conversation ends before tool messages answer {pending}")
    return problems


def _answer(where: str, message: Mapping[str, Any], pending: list[str], asked_at: str) -> list[str]:
    """Check one tool message against the calls still pending, consuming the id it answers."""
    call_id = message.get("tool_call_id")
    problems = (
        [] if isinstance(message.get("content"), str | list) else [f"{where}.content: expected a string"]
    )
    if not pending:
        return [
            *problems,
            f"{where}: a 'tool' message (tool_call_id {call_id!r}) must respond to a preceding assistant "
            "message with 'tool_calls'",
        ]
    if call_id == pending[0]:
        pending.pop(0)
        return problems
    if call_id in pending:
        pending.remove(call_id)
        return [
            *problems,
            f"{where}: tool result for {call_id!r} is out of order; expected {pending[0]!r} first",
        ]
    return [
        *problems,
        f"{where}: tool_call_id {call_id!r} answers no call of the assistant message at {asked_at}",
    ]
