"""Pure parts of the MCP client features: eras remembered, elicitation forms, sampling conversion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest

from agent.config.servers import HttpServerConfig, StdioServerConfig
from agent.events import ElicitationAnswer, ElicitationField, ElicitationOption
from agent.mcp.elicitation import complete_answer, form_fields, parse_value, show_value
from agent.mcp.eras import EraStore, ModePlan, config_key, plan_mode
from agent.mcp.sampling import sampling_call, sampling_result
from agent.messages import (
    AssistantMessage,
    ImagePart,
    ModelResponse,
    RequestSettings,
    ToolCall,
    ToolMessage,
    ToolSpec,
    UserMessage,
)

STDIO = StdioServerConfig(command="server", args=["--db", "x.db"], env={"TOKEN": "s3cret"})
HTTP = HttpServerConfig(url="https://mcp.example.com/mcp", headers={"Authorization": "Bearer s3cret"})

# -- protocol eras ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_server_key_hashes_what_starts_the_server_and_never_holds_its_secrets() -> None:
    key = config_key(STDIO)
    assert len(key) == 32 and "s3cret" not in key
    assert config_key(STDIO.model_copy(update={"startup_timeout": 5.0, "mode": "auto"})) == key
    assert config_key(STDIO.model_copy(update={"env": {"TOKEN": "other"}})) != key
    assert config_key(HTTP) != config_key(HTTP.model_copy(update={"url": "https://other.example.com/mcp"}))


@pytest.mark.parametrize(
    ("target", "pinned", "remembered", "expected"),
    [
        (STDIO, None, None, ModePlan("auto", remember_as=config_key(STDIO))),
        (STDIO, None, "2026-07-28", ModePlan("auto", remember_as=config_key(STDIO))),
        (STDIO, None, "2025-11-25", ModePlan("legacy")),
        (HTTP, None, "2025-06-18", ModePlan("legacy")),
        (STDIO.model_copy(update={"mode": "auto"}), None, "2025-11-25", ModePlan("auto")),
        (STDIO.model_copy(update={"mode": "legacy"}), None, None, ModePlan("legacy")),
        (STDIO.model_copy(update={"mode": "2026-07-28"}), None, None, ModePlan("2026-07-28")),
        (STDIO.model_copy(update={"mode": "legacy"}), "auto", None, ModePlan("auto")),
        (object(), None, None, ModePlan("legacy")),
        (object(), "2026-07-28", None, ModePlan("2026-07-28")),
    ],
)
def test_the_mode_is_pinned_by_code_then_by_the_entry_then_remembered_else_probed(
    target: Any, pinned: Any, remembered: str | None, expected: ModePlan
) -> None:
    store = EraStore()
    if remembered is not None:
        store.remember(config_key(target), remembered)
    assert plan_mode(target, pinned, store) == expected


def test_without_a_store_an_entry_without_a_mode_is_probed_every_time() -> None:
    assert plan_mode(STDIO, None, None) == ModePlan("auto")


def test_remembered_eras_survive_in_the_cache_file_and_a_legacy_one_is_probed_again_after_a_week(
    tmp_path: Path,
) -> None:
    clock = Clock()
    first = EraStore(tmp_path / "cache" / "mcp-eras.json", clock=clock)
    first.remember("old", "2025-11-25")
    first.remember("new", "2026-07-28")
    saved = json.loads((tmp_path / "cache" / "mcp-eras.json").read_text())
    assert saved == {
        "new": {"version": "2026-07-28", "seen": 1_000_000},
        "old": {"version": "2025-11-25", "seen": 1_000_000},
    }
    later = EraStore.in_cache_dir(tmp_path / "cache")
    later._clock = clock
    assert (later.recall("old"), later.recall("new"), later.recall("other")) == (
        "2025-11-25",
        "2026-07-28",
        None,
    )
    clock.now += 8 * 24 * 3600
    assert (later.recall("old"), later.recall("new")) == (None, "2026-07-28")


@pytest.mark.parametrize("content", ["not json", "[]", '{"k": "not an entry"}', '{"k": {"version": 3}}'])
def test_an_unreadable_cache_file_means_every_server_is_probed_afresh(tmp_path: Path, content: str) -> None:
    path = tmp_path / "mcp-eras.json"
    path.write_text(content)
    store = EraStore(path)
    assert store.recall("k") is None
    store.remember("k", "2025-11-25")
    assert EraStore(path).recall("k") == "2025-11-25"


# -- elicitation forms -------------------------------------------------------------------------

EVERYTHING_FORM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "title": "Full name", "minLength": 2, "maxLength": 20},
        "email": {"type": "string", "format": "email", "description": "Where to reply"},
        "site": {"type": "string", "format": "uri"},
        "born": {"type": "string", "format": "date"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150, "default": 30},
        "score": {"type": "number", "maximum": 1.5},
        "ok": {"type": "boolean", "default": True},
        "color": {"type": "string", "enum": ["r", "g"], "enumNames": ["Red", "Green"]},
        "size": {
            "type": "string",
            "oneOf": [{"const": "s", "title": "Small"}, {"const": "l", "title": "Large"}],
        },
        "tags": {
            "type": "array",
            "items": {"anyOf": [{"const": "a", "title": "Alpha"}, {"const": "b"}]},
            "minItems": 1,
            "maxItems": 2,
        },
        "plain": {"type": "string", "enum": ["x", "y"]},
        "broken": "not a schema",
    },
    "required": ["name", "email"],
}


def test_an_elicitation_schema_becomes_its_fields_in_order() -> None:
    assert form_fields(EVERYTHING_FORM) == [
        ElicitationField(
            name="name", title="Full name", kind="string", required=True, min_length=2, max_length=20
        ),
        ElicitationField(
            name="email",
            title="email",
            description="Where to reply",
            kind="string",
            required=True,
            format="email",
        ),
        ElicitationField(name="site", title="site", kind="string", format="uri"),
        ElicitationField(name="born", title="born", kind="string", format="date"),
        ElicitationField(name="age", title="age", kind="integer", default=30, minimum=0, maximum=150),
        ElicitationField(name="score", title="score", kind="number", maximum=1.5),
        ElicitationField(name="ok", title="ok", kind="boolean", default=True),
        ElicitationField(
            name="color",
            title="color",
            kind="choice",
            options=[ElicitationOption(value="r", title="Red"), ElicitationOption(value="g", title="Green")],
        ),
        ElicitationField(
            name="size",
            title="size",
            kind="choice",
            options=[
                ElicitationOption(value="s", title="Small"),
                ElicitationOption(value="l", title="Large"),
            ],
        ),
        ElicitationField(
            name="tags",
            title="tags",
            kind="choices",
            options=[ElicitationOption(value="a", title="Alpha"), ElicitationOption(value="b", title="b")],
            minimum=1,
            maximum=2,
        ),
        ElicitationField(
            name="plain",
            title="plain",
            kind="choice",
            options=[ElicitationOption(value="x", title="x"), ElicitationOption(value="y", title="y")],
        ),
    ]


@pytest.mark.parametrize("schema", [None, {}, {"properties": []}, {"type": "object"}])
def test_a_schema_without_properties_has_no_fields(schema: Any) -> None:
    assert form_fields(schema) == []


FIELDS = {f.name: f for f in form_fields(EVERYTHING_FORM)}


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("name", " Ann Lee ", "Ann Lee"),
        ("email", "ann@example.com", "ann@example.com"),
        ("site", "https://example.com/x", "https://example.com/x"),
        ("born", "1990-02-03", "1990-02-03"),
        ("age", "42", 42),
        ("score", "1.25", 1.25),
        ("ok", "Yes", True),
        ("ok", "n", False),
        ("color", "Green", "g"),
        ("color", "r", "r"),
        ("size", "2", "l"),
        ("tags", "Alpha, b, a", ["a", "b"]),
    ],
)
def test_typed_text_becomes_the_fields_value(name: str, text: str, value: Any) -> None:
    assert parse_value(FIELDS[name], text) == value


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("name", "A", "expected at least 2 characters"),
        ("name", "A" * 21, "expected at most 20 characters"),
        ("email", "ann at home", "expected an email address"),
        ("site", "example.com", "expected a URL such as https://example.com/"),
        ("born", "3 Feb", "expected a date such as 2026-07-28"),
        ("age", "4.5", "expected a whole number"),
        ("age", "200", "expected a number of at most 150"),
        ("score", "lots", "expected a number"),
        ("ok", "maybe", "expected yes or no"),
        ("color", "Blue", "expected one of: Red, Green"),
        ("size", "3", "expected one of: Small, Large"),
        ("tags", "a, b, a, c", "expected one of: Alpha, b"),
        ("tags", ",", "expected choices of at least 1"),
    ],
)
def test_text_that_is_no_valid_value_says_what_is_expected(name: str, text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_value(FIELDS[name], text)
    assert str(caught.value) == message


def test_values_are_shown_as_they_would_be_typed() -> None:
    assert [
        show_value(FIELDS["ok"], True),
        show_value(FIELDS["color"], "g"),
        show_value(FIELDS["tags"], ["a", "b"]),
        show_value(FIELDS["score"], 2.0),
        show_value(FIELDS["name"], "Ann"),
    ] == ["yes", "Green", "Alpha, b", "2", "Ann"]


def test_an_accepted_answer_gets_the_schemas_defaults_and_loses_unknown_names() -> None:
    fields = form_fields(EVERYTHING_FORM)
    answer = ElicitationAnswer.accept({"name": "Ann", "age": 7, "extra": 1})
    assert complete_answer(fields, answer) == ElicitationAnswer(
        action="accept", content={"name": "Ann", "age": 7, "ok": True}
    )
    assert complete_answer(fields, ElicitationAnswer.decline()) == ElicitationAnswer.decline()
    assert complete_answer([], ElicitationAnswer.accept()) == ElicitationAnswer.accept()


# -- sampling ------------------------------------------------------------------------------


def test_a_sampling_request_becomes_our_messages_tools_and_settings() -> None:
    params = types.CreateMessageRequestParams(
        messages=[
            types.SamplingMessage(
                role="user",
                content=[
                    types.TextContent(text="Look:"),
                    types.ImageContent(data="aGk=", mime_type="image/png"),
                ],
            ),
            types.SamplingMessage(
                role="assistant",
                content=types.ToolUseContent(id="u1", name="files.read", input={"path": "a.txt"}),
            ),
            types.SamplingMessage(
                role="user",
                content=types.ToolResultContent(tool_use_id="u1", content=[types.TextContent(text="hello")]),
            ),
        ],
        system_prompt="Be brief.",
        max_tokens=99,
        temperature=0.2,
        tools=[types.Tool(name="files.read", input_schema={"type": "object"})],
        tool_choice=types.ToolChoice(mode="required"),
        model_preferences=types.ModelPreferences(hints=[types.ModelHint(name="sonnet")]),
    )
    call = sampling_call("fs", "call_9", params)
    assert call.request.model_dump() == {
        "server": "fs",
        "call_id": "call_9",
        "messages": [
            UserMessage(content="Look:", media=(ImagePart(data="aGk=", mime_type="image/png"),)).model_dump(),
            AssistantMessage(
                tool_calls=[ToolCall(id="u1", name="files_read", arguments='{"path": "a.txt"}')]
            ).model_dump(),
            ToolMessage(tool_call_id="u1", name="files_read", content="hello").model_dump(),
        ],
        "system_prompt": "Be brief.",
        "max_tokens": 99,
        "temperature": 0.2,
        "tools": ["files.read"],
        "model_hints": ["sonnet"],
    }
    assert call.tools == [ToolSpec(name="files_read", parameters={"type": "object"})]
    assert call.settings == RequestSettings(max_tokens=99, temperature=0.2, tool_choice="required")


def test_the_models_answer_goes_back_in_the_result_type_the_request_calls_for() -> None:
    plain = sampling_call(
        "s",
        None,
        types.CreateMessageRequestParams(
            messages=[types.SamplingMessage(role="user", content=types.TextContent(text="hi"))], max_tokens=5
        ),
    )
    cut = ModelResponse(message=AssistantMessage(content="Hel"), finish_reason="length")
    assert sampling_result(plain, cut, "m/1") == types.CreateMessageResult(
        role="assistant", content=types.TextContent(text="Hel"), model="m/1", stop_reason="maxTokens"
    )
    tooled = sampling_call(
        "s",
        None,
        types.CreateMessageRequestParams(
            messages=[types.SamplingMessage(role="user", content=types.TextContent(text="hi"))],
            max_tokens=5,
            tools=[types.Tool(name="a.b", input_schema={"type": "object"})],
        ),
    )
    using = ModelResponse(
        message=AssistantMessage(
            content="Let me look.", tool_calls=[ToolCall(id="t1", name="a_b", arguments="{}")]
        ),
        finish_reason="tool_calls",
    )
    assert sampling_result(tooled, using, "m/1") == types.CreateMessageResultWithTools(
        role="assistant",
        content=[types.TextContent(text="Let me look."), types.ToolUseContent(id="t1", name="a.b", input={})],
        model="m/1",
        stop_reason="toolUse",
    )
    done = ModelResponse(message=AssistantMessage(content="Fine."), finish_reason="stop")
    assert sampling_result(tooled, done, "m/1") == types.CreateMessageResultWithTools(
        role="assistant", content=[types.TextContent(text="Fine.")], model="m/1", stop_reason="endTurn"
    )
