"""Simulated models: step functions that answer like a real model of a kind, for any number of requests.

Give them to :class:`~tests.loopback.server.ScriptedOpenRouter` as ``behaviours`` (they are never
consumed). Each reads the whole request, as a model would: the task (the first user message),
the tools (native ``tools``, or the ``<tools>`` list of the text protocol's system prompt), the
calls already made and their results. A small planner stands in for understanding: it knows the
tasks the tests and ``agent probe`` set (weather per city, a table booking, a secret code,
additions, multiplications) and plans the calls a good model would make with the tools on offer. The kinds
differ only in how they carry the plan out:

- ``capable``: native calls with the right types, all of a turn's calls at once, no call when
  none is needed, a call when ``tool_choice`` is ``required``, answers quoting the results,
  follows the text protocol when the tools are in the prompt;
- ``no_tools``: a 404 "No endpoints found that support tool use" whenever ``tools`` is sent,
  else follows the text protocol;
- ``sequential``: like ``capable`` but one call per turn;
- ``wrong_types``: like ``capable`` but every non-string argument is sent as a string;
- ``text_calls``: writes ``<tool_call>`` blocks in its text even when tools are sent natively.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.loopback.catalog import catalog_model
from tests.loopback.steps import Call, ErrorReply, Reply, error, reply

__all__ = [
    "NO_TOOL_ENDPOINTS",
    "SIMULATED",
    "Conversation",
    "Planned",
    "capable",
    "no_tools",
    "plan",
    "read_conversation",
    "sequential",
    "simulated_catalog",
    "text_calls",
    "wrong_types",
]

NO_TOOL_ENDPOINTS = (
    "No endpoints found that support tool use. To learn more about provider routing, visit: "
    "https://openrouter.ai/docs/provider-routing"
)

_TOOLS_BLOCK = re.compile(r"<tools>\n(.*?)\n</tools>", re.S)
_RESPONSE_BLOCK = re.compile(r"<tool_response>\n(.*?)\n</tool_response>", re.S)
_CITY = re.compile(r"\b(?:in|and)\s+([A-Z][a-z]+)")
_PRODUCT = re.compile(r"(\d+)\s*(?:\*|x|times)\s*(\d+)")
_SUM = re.compile(r"(\d+)\s*(?:\+|plus)\s*(\d+)")
_ADD = re.compile(r"\badd (\d+) and (\d+)", re.I)


@dataclass(frozen=True)
class Planned:
    """A call the model means to make: the tool's model-visible name and typed arguments."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Conversation:
    """What a model reads from one request."""

    task: str
    tools: dict[str, dict[str, Any]]  # name -> parameters schema
    native: bool  # tools were sent as ``tools``
    calls_made: int  # calls made since the task, in either protocol
    results: list[str]  # their results' text, in order
    tool_choice: Any = None


def read_conversation(request: Mapping[str, Any]) -> Conversation:
    """The task, tools, calls made and results of a chat request (native or text protocol)."""
    messages = [m for m in request.get("messages") or [] if isinstance(m, dict)]
    tools: dict[str, dict[str, Any]] = {}
    for tool in request.get("tools") or []:
        function = tool.get("function") or {}
        tools[function.get("name", "")] = function.get("parameters") or {}
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    block = _TOOLS_BLOCK.search(system) if isinstance(system, str) else None
    if block is not None:
        for line in block.group(1).splitlines():
            function = json.loads(line)["function"]
            tools[function["name"]] = function.get("parameters") or {}
    start = next(
        (i for i, m in enumerate(messages) if m.get("role") == "user" and "<tool_response>" not in _text(m)),
        len(messages),
    )
    calls_made, results = 0, []
    for message in messages[start + 1 :]:
        role, text = message.get("role"), _text(message)
        if role == "assistant":
            calls_made += len(message.get("tool_calls") or []) + text.count("<tool_call>")
        elif role == "tool":
            results.append(text)
        elif role == "user":
            results += [json.loads(b)["content"] for b in _RESPONSE_BLOCK.findall(text)]
    task = _text(messages[start]) if start < len(messages) else ""
    return Conversation(
        task, tools, bool(request.get("tools")), calls_made, results, request.get("tool_choice")
    )


def plan(task: str, tools: Mapping[str, Mapping[str, Any]]) -> list[Planned]:
    """The calls a good model makes for ``task`` with ``tools``; empty when it can answer alone."""
    lowered = task.lower()

    def tool(word: str) -> str | None:
        return next((name for name in tools if word in name), None)

    weather, booking, secret = tool("weather"), tool("book"), tool("secret")
    adder, evaluate = tool("add"), tool("evaluate")
    if weather and "weather" in lowered:
        return [Planned(weather, {"city": city}) for city in _CITY.findall(task)]
    if booking and "book" in lowered:
        return [Planned(booking, _booking(task))]
    if secret and "secret" in lowered:
        return [Planned(secret)]
    if adder and _ADD.search(task):
        return [Planned(adder, {"a": int(a), "b": int(b)}) for a, b in _ADD.findall(task)]
    if evaluate and _PRODUCT.search(task):
        return [Planned(evaluate, {"expression": f"{a}*{b}"}) for a, b in _PRODUCT.findall(task)]
    return []


def _booking(task: str) -> dict[str, Any]:
    guests = re.search(r"(\d+) guests", task)
    time = re.search(r"\b(\d{1,2}:\d{2})\b", task)
    dishes = re.search(r"dishes: ([^.]+)\.", task)
    name = re.search(r"name (\w+)", task)
    phone = re.search(r"phone ([\d-]+)", task)
    return {
        "guests": int(guests.group(1)) if guests else 1,
        "time": time.group(1) if time else "19:00",
        "dishes": [d.strip() for d in dishes.group(1).split(",")] if dishes else [],
        "contact": {"name": name.group(1) if name else "", "phone": phone.group(1) if phone else ""},
    }


def _placeholder(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments for a forced call: a plausible value for each required property."""
    values = {"string": "Paris", "integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}
    properties = schema.get("properties") or {}
    arguments: dict[str, Any] = {}
    for name in schema.get("required") or []:
        spec = properties.get(name) or {}
        arguments[name] = spec["enum"][0] if spec.get("enum") else values.get(spec.get("type"), "x")
    return arguments


def _answer(conversation: Conversation) -> str:
    if conversation.results:
        return "Here is what the tools returned: " + "; ".join(conversation.results)
    product, total = _PRODUCT.search(conversation.task), _SUM.search(conversation.task)
    if product:
        return str(int(product.group(1)) * int(product.group(2)))
    if total:
        return str(int(total.group(1)) + int(total.group(2)))
    return "Hello! How can I help you today?"


def _next_calls(conversation: Conversation, *, per_turn: int | None) -> list[Planned]:
    planned = plan(conversation.task, conversation.tools)
    if not planned and conversation.tool_choice == "required" and not conversation.calls_made:
        name, schema = next(iter(conversation.tools.items()))
        planned = [Planned(name, _placeholder(schema))]
    left = planned[conversation.calls_made :]
    return left if per_turn is None else left[:per_turn]


def _as_text(calls: Sequence[Planned]) -> str:
    blocks = [
        "<tool_call>\n" + json.dumps({"name": c.name, "arguments": c.arguments}) + "\n</tool_call>"
        for c in calls
    ]
    return "I will use the tools.\n" + "\n".join(blocks)


def _behave(
    request: Mapping[str, Any],
    *,
    per_turn: int | None = None,
    convert: Callable[[dict[str, Any]], dict[str, Any]] = dict,
    calls_in_text: bool = False,
) -> Reply:
    conversation = read_conversation(request)
    calls = [Planned(c.name, convert(c.arguments)) for c in _next_calls(conversation, per_turn=per_turn)]
    if not calls:
        return reply(_answer(conversation))
    if calls_in_text or not conversation.native:
        return reply(_as_text(calls))
    return reply(None, *(Call(c.name, c.arguments) for c in calls))


def capable(request: dict[str, Any]) -> Reply:
    """A model that gets tool calling right, natively or in the text protocol."""
    return _behave(request)


def no_tools(request: dict[str, Any]) -> Reply | ErrorReply:
    """A model with no tool endpoints: 404 when ``tools`` is sent; follows the text protocol."""
    if request.get("tools"):
        return error(404, NO_TOOL_ENDPOINTS)
    return _behave(request)


def sequential(request: dict[str, Any]) -> Reply:
    """A capable model that never makes two calls in one turn."""
    return _behave(request, per_turn=1)


def wrong_types(request: dict[str, Any]) -> Reply:
    """A model that sends every non-string argument as a string (``"4"`` for 4, arrays as JSON text)."""

    def stringify(arguments: dict[str, Any]) -> dict[str, Any]:
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in arguments.items()}

    return _behave(request, convert=stringify)


def text_calls(request: dict[str, Any]) -> Reply:
    """A model that writes its calls as ``<tool_call>`` text even when tools are sent natively."""
    return _behave(request, calls_in_text=True)


SIMULATED: dict[str, Callable[[dict[str, Any]], Reply | ErrorReply]] = {
    "sim/capable": capable,
    "sim/no-tools": no_tools,
    "sim/sequential": sequential,
    "sim/wrong-types": wrong_types,
    "sim/text-calls": text_calls,
}
"""The simulated models by id, ready for ``ScriptedOpenRouter(behaviours=SIMULATED)``."""

_TOOLS_ALL = ("tools", "tool_choice", "parallel_tool_calls", "max_tokens", "temperature")


def simulated_catalog() -> list[dict[str, Any]]:
    """Catalog entries for :data:`SIMULATED`, saying what OpenRouter would say about each."""
    return [
        catalog_model("sim/capable", supported_parameters=_TOOLS_ALL, context_length=200_000),
        catalog_model(
            "sim/no-tools",
            supported_parameters=("max_tokens", "temperature"),
            context_length=8192,
            prompt_price="0",
            completion_price="0",
        ),
        catalog_model("sim/sequential", supported_parameters=("tools", "max_tokens"), context_length=32_768),
        catalog_model("sim/wrong-types", supported_parameters=_TOOLS_ALL, prompt_price="0.0000005"),
        catalog_model("sim/text-calls", supported_parameters=("tools", "tool_choice", "max_tokens")),
    ]


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""
