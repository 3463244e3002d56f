"""The loopback server's strict history checks, as a pure function over request bodies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.loopback.history import check_request, continues

USER = {"role": "user", "content": "read a.txt"}
TOOLS = [{"type": "function", "function": {"name": "fs_read", "parameters": {"type": "object"}}}]


def asks(*ids: str, content: Any = None) -> dict[str, Any]:
    calls = [{"id": i, "type": "function", "function": {"name": "fs_read", "arguments": "{}"}} for i in ids]
    return {"role": "assistant", "content": content, "tool_calls": calls}


def answer(call_id: str, content: Any = "ok") -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def body(*messages: Any, tools: Any = TOOLS) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages), "tools": tools}


@pytest.mark.parametrize(
    ("request_body", "problems"),
    [
        pytest.param(body(USER), [], id="a single user message"),
        pytest.param(
            body(
                USER, asks("c1", "c2"), answer("c1"), answer("c2"), {"role": "assistant", "content": "done"}
            ),
            [],
            id="parallel calls answered in order",
        ),
        pytest.param(
            body(USER, asks("c1", content="Let me look."), answer("c1", [{"type": "text", "text": "ok"}])),
            [],
            id="text with calls and a tool result as content parts",
        ),
        pytest.param([], ["body: expected a JSON object"], id="body not an object"),
        pytest.param(
            {"model": "m"}, ["messages: expected a non-empty list of messages"], id="messages missing"
        ),
        pytest.param(
            body(USER, asks("c1", "c2"), answer("c1"), USER),
            [
                "messages[1]: an assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id' before any other message; missing ['c2']"
            ],
            id="a call left unanswered before the next user message",
        ),
        pytest.param(
            body(USER, asks("c1")),
            ["messages[1]: the conversation ends before tool messages answer ['c1']"],
            id="the conversation ends on unanswered calls",
        ),
        pytest.param(
            body(USER, answer("c1")),
            [
                "messages[1]: a 'tool' message (tool_call_id 'c1') must respond to a preceding assistant "
                "message with 'tool_calls'"
            ],
            id="a tool message without a call",
        ),
        pytest.param(
            body(USER, asks("c1"), answer("c1"), answer("c1")),
            [
                "messages[3]: a 'tool' message (tool_call_id 'c1') must respond to a preceding assistant "
                "message with 'tool_calls'"
            ],
            id="a call answered twice",
        ),
        pytest.param(
            body(USER, asks("c1", "c2"), answer("c2"), answer("c1")),
            ["messages[2]: tool result for 'c2' is out of order; expected 'c1' first"],
            id="results out of order",
        ),
        pytest.param(
            body(USER, asks("c1"), answer("zz")),
            [
                "messages[2]: tool_call_id 'zz' answers no call of the assistant message at messages[1]",
                "messages[1]: the conversation ends before tool messages answer ['c1']",
            ],
            id="a result for an unknown id",
        ),
        pytest.param(
            body(USER, asks("c1", content=""), answer("c1")),
            ["messages[1].content: a tool-only assistant message must have content null, not ''"],
            id="tool-only assistant message with empty content",
        ),
        pytest.param(
            body(USER, asks("c1", "c1"), answer("c1")),
            ["messages[1].tool_calls[1].id: duplicate tool call id 'c1'"],
            id="duplicate call ids",
        ),
        pytest.param(
            body(
                USER,
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"type": "function", "function": {"name": "fs.read", "arguments": {}}}],
                },
            ),
            [
                "messages[1].tool_calls[0].id: expected a non-empty string",
                "messages[1].tool_calls[0].function.name: 'fs.read' does not match ^[a-zA-Z0-9_-]{1,64}$",
                "messages[1].tool_calls[0].function.arguments: expected a JSON string",
            ],
            id="a call without id, with a dotted name and object arguments",
        ),
        pytest.param(
            body(USER, {"role": "assistant", "content": None, "tool_calls": []}),
            ["messages[1].tool_calls: expected a non-empty list (leave the key out when there are none)"],
            id="an empty tool_calls list",
        ),
        pytest.param(
            body(USER, {"role": "assistant", "content": None}),
            ["messages[1]: an assistant message needs content or tool_calls"],
            id="an empty assistant message",
        ),
        pytest.param(
            body({"role": "robot", "content": "x"}),
            [
                "messages[0]: expected an object with role one of "
                "['assistant', 'developer', 'system', 'tool', 'user']"
            ],
            id="an unknown role",
        ),
        pytest.param(
            body(USER, tools=[{"type": "function", "function": {"name": "x" * 65}}]),
            [f"tools[0].function.name: '{'x' * 65}' does not match ^[a-zA-Z0-9_-]{{1,64}}$"],
            id="a tool name longer than 64 characters",
        ),
        pytest.param(
            body(
                USER,
                tools=[*TOOLS, *TOOLS, {"type": "function", "function": {"name": "ok", "parameters": []}}],
            ),
            [
                "tools[1].function.name: duplicate tool name 'fs_read'",
                "tools[2].function.parameters: expected a JSON schema object",
            ],
            id="duplicate tool names and a non-object schema",
        ),
        pytest.param(
            body(USER, tools=[{"name": "fs_read"}]),
            ['tools[0]: expected {"type": "function", "function": {...}}'],
            id="a tool not wrapped as a function",
        ),
    ],
)
def test_check_request_names_each_problem_and_where_it_is(request_body: Any, problems: list[str]) -> None:
    assert check_request(request_body) == problems


@pytest.mark.parametrize(
    ("earlier", "later", "expected"),
    [
        ([USER], [USER, asks("c1"), answer("c1")], True),
        ([USER], [USER], False),
        ([USER, asks("c1"), answer("c1")], [USER], False),
        ([{"role": "user", "content": "other"}], [USER, asks("c1"), answer("c1")], False),
    ],
)
def test_continues_means_same_messages_first_then_more(
    earlier: list[Any], later: list[Any], expected: bool
) -> None:
    assert continues(earlier, later) is expected
