"""The simulated models the probe tests use, and the loopback server's never-consumed behaviours."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from agent.messages import ToolSpec
from agent.text_protocol import system_prompt
from tests.loopback import Call, ScriptedOpenRouter, Step, error, reply
from tests.loopback.simulated import (
    NO_TOOL_ENDPOINTS,
    capable,
    no_tools,
    sequential,
    text_calls,
    wrong_types,
)

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
BOOK = {
    "type": "object",
    "properties": {
        "guests": {"type": "integer"},
        "time": {"type": "string", "enum": ["18:00", "19:00"]},
        "dishes": {"type": "array", "items": {"type": "string"}},
        "contact": {"type": "object"},
    },
    "required": ["guests", "time"],
}
BOOKING_TASK = (
    "Book a table for 4 guests at 19:00. Pre-order these dishes: soup, salad. "
    "Contact: name Ada, phone 555-0100."
)
TWO_CITIES = "What is the weather in Paris and in Tokyo?"


def native(
    task: str, *history: dict[str, Any], tools: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    specs = tools if tools is not None else {"get_weather": WEATHER}
    return {
        "model": "sim/x",
        "messages": [{"role": "user", "content": task}, *history],
        "tools": [{"type": "function", "function": {"name": n, "parameters": p}} for n, p in specs.items()],
        **extra,
    }


def text(task: str, *history: dict[str, Any]) -> dict[str, Any]:
    system = system_prompt([ToolSpec(name="get_weather", parameters=WEATHER)], None)
    return {
        "model": "sim/x",
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": task}, *history],
    }


def called(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    wire = [
        {"id": f"c{i}", "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
        for i, (n, a) in enumerate(calls)
    ]
    return {"role": "assistant", "content": None, "tool_calls": wire}


def result(call_id: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def blocks(*calls: tuple[str, dict[str, Any]]) -> str:
    lines = [f"<tool_call>\n{json.dumps({'name': n, 'arguments': a})}\n</tool_call>" for n, a in calls]
    return "I will use the tools.\n" + "\n".join(lines)


PARIS = ("get_weather", {"city": "Paris"})
TOKYO = ("get_weather", {"city": "Tokyo"})
BOOKING = {
    "guests": 4,
    "time": "19:00",
    "dishes": ["soup", "salad"],
    "contact": {"name": "Ada", "phone": "555-0100"},
}

CASES: list[tuple[str, Callable[[dict[str, Any]], Step], dict[str, Any], Step]] = [
    ("capable calls in parallel", capable, native(TWO_CITIES), reply(None, Call(*PARIS), Call(*TOKYO))),
    (
        "capable answers with the results",
        capable,
        native(TWO_CITIES, called(PARIS, TOKYO), result("c0", "rain"), result("c1", "sun")),
        reply("Here is what the tools returned: rain; sun"),
    ),
    ("capable restrains itself", capable, native("What is 2 + 2?"), reply("4")),
    (
        "capable honours tool_choice=required",
        capable,
        native("Greet me.", tool_choice="required"),
        reply(None, Call("get_weather", {"city": "Paris"})),
    ),
    (
        "capable sends typed arguments",
        capable,
        native(BOOKING_TASK, tools={"book_table": BOOK}),
        reply(None, Call("book_table", BOOKING)),
    ),
    ("capable follows the text protocol", capable, text(TWO_CITIES), reply(blocks(PARIS, TOKYO))),
    ("sequential makes one call", sequential, native(TWO_CITIES), reply(None, Call(*PARIS))),
    (
        "sequential makes the next call after the first result",
        sequential,
        native(TWO_CITIES, called(PARIS), result("c0", "rain")),
        reply(None, Call(*TOKYO)),
    ),
    (
        "wrong_types sends numbers, arrays and objects as strings",
        wrong_types,
        native(BOOKING_TASK, tools={"book_table": BOOK}),
        reply(
            None,
            Call(
                "book_table",
                {
                    "guests": "4",
                    "time": "19:00",
                    "dishes": '["soup", "salad"]',
                    "contact": '{"name": "Ada", "phone": "555-0100"}',
                },
            ),
        ),
    ),
    (
        "text_calls writes calls as text though tools are native",
        text_calls,
        native(TWO_CITIES),
        reply(blocks(PARIS, TOKYO)),
    ),
    ("no_tools refuses native tools", no_tools, native(TWO_CITIES), error(404, NO_TOOL_ENDPOINTS)),
    (
        "no_tools follows the text protocol",
        no_tools,
        text("What is the weather in Oslo?"),
        reply(blocks(("get_weather", {"city": "Oslo"}))),
    ),
    (
        "no_tools reads text-protocol results",
        no_tools,
        text(
            "What is the weather in Oslo?",
            {"role": "assistant", "content": blocks(("get_weather", {"city": "Oslo"}))},
            {
                "role": "user",
                "content": '<tool_response>\n{"id": "a", "name": "get_weather", "is_error": false, '
                '"content": "snow"}\n</tool_response>',
            },
        ),
        reply("Here is what the tools returned: snow"),
    ),
]


@pytest.mark.parametrize(
    ("kind", "request_json", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_simulated_model_answers_as_a_model_of_its_kind(
    kind: Callable[[dict[str, Any]], Step], request_json: dict[str, Any], expected: Step
) -> None:
    assert kind(request_json) == expected


def post(server: ScriptedOpenRouter, model: str) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "What is 2 + 2?"}]}
    return httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=5)


def test_a_behaviour_answers_after_the_models_queue_and_is_never_used_up() -> None:
    with ScriptedOpenRouter(
        reply("default"), models={"sim/a": [reply("queued")]}, behaviours={"sim/a": capable}
    ) as server:
        answers = [post(server, "sim/a").json()["choices"][0]["message"]["content"] for _ in range(3)]
        other = post(server, "sim/b").json()["choices"][0]["message"]["content"]
    assert (answers, other) == (["queued", "4", "4"], "default")
    server.assert_clean()


def test_a_model_with_only_a_behaviour_never_takes_the_default_steps() -> None:
    with ScriptedOpenRouter(reply("default"), behaviours={"sim/a": no_tools}) as server:
        first = post(server, "sim/a").json()["choices"][0]["message"]["content"]
    assert first == "4"
    assert server.remaining() == {None: 1}
