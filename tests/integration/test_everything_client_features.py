"""What server-everything asks of the client, end to end: sampling, elicitation and roots.

The npm reference server ``@modelcontextprotocol/server-everything`` (over stdio and over
streamable HTTP on 127.0.0.1, as in :mod:`tests.integration.test_third_party_servers`) registers
its client-feature tools only for a client that declares the capability at initialize. The loopback
model calls them through the real ``agent run`` (or ``Agent``), and each test checks what came
back to the model: the sampled text, the values elicited, the roots offered.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from agent import Agent
from agent.events import (
    ElicitationAnswer,
    ElicitationAnswered,
    ElicitationRequested,
    Event,
    answer_through_events,
)
from tests.integration.cli_helpers import Completed, agent_env, run_agent_cli
from tests.integration.test_third_party_servers import everything_config
from tests.loopback import ScriptedOpenRouter, Step, call, last_tool_result, reply

pytestmark = pytest.mark.npm

TRANSPORTS = pytest.mark.parametrize("transport", ["stdio", "http"])
MODEL = "test/model"
NOT_AT_A_TERMINAL = "not asked: not at a terminal"


def quote_tool_result(request: dict[str, Any]) -> Step:
    return reply(last_tool_result(request))


def tool_messages(body: dict[str, Any]) -> list[str]:
    """The contents of the tool messages the model was sent in ``body``."""
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def run_everything(
    tmp_path: Path, config: Path, *steps: Step, args: Sequence[str] = ()
) -> tuple[Completed, ScriptedOpenRouter]:
    """``agent run --json`` with server-everything only, the loopback model following ``steps``."""
    with ScriptedOpenRouter(*steps) as server:
        done = run_agent_cli(
            "run",
            "use the tools",
            "-m",
            MODEL,
            "--mcp-config",
            str(config),
            "-s",
            "everything",
            *args,
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
        server.assert_clean()
    assert done.code == 0, done.stderr
    assert done.json()["stop_reason"] == "completed"
    return done, server


def test_the_client_feature_tools_are_offered_as_the_runtime_declares_the_capabilities(
    tmp_path: Path,
) -> None:
    with everything_config(tmp_path, "stdio") as config:
        done = run_agent_cli(
            "tools",
            "--mcp-config",
            str(config),
            "-s",
            "everything",
            "--json",
            env=agent_env(None, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    names = {tool["name"] for tool in json.loads(done.stdout)}
    # registered by the server only for a client declaring roots, elicitation (form and URL) and
    # sampling at initialize
    assert names >= {
        "get-roots-list",
        "trigger-elicitation-request",
        "trigger-url-elicitation",
        "trigger-sampling-request",
    }


# -- sampling ----------------------------------------------------------------------------------


@TRANSPORTS
def test_allowed_sampling_is_answered_by_the_runs_model_and_the_tool_returns_its_text(
    tmp_path: Path, transport: str
) -> None:
    with everything_config(tmp_path, transport) as config:
        done, server = run_everything(
            tmp_path,
            config,
            reply(None, call("trigger-sampling-request", {"prompt": "name a colour", "maxTokens": 20})),
            reply("Teal, of course."),
            quote_tool_result,
            args=["--allow-sampling", "--verbose"],
        )
    _, sampling, last = server.chat_bodies
    # the server's request, as the run's model was asked it: no tools, not streamed
    assert sampling["messages"] == [
        {"role": "system", "content": "You are a helpful test server."},
        {"role": "user", "content": "Resource trigger-sampling-request context: name a colour"},
    ]
    assert (sampling["model"], sampling["max_tokens"], sampling["temperature"]) == (MODEL, 20, 0.7)
    assert "tools" not in sampling and not sampling.get("stream")
    # what the server got back, as its tool result shows it to the model
    (result,) = tool_messages(last)
    prefix = "LLM sampling result: \n"
    assert result.startswith(prefix)
    assert json.loads(result[len(prefix) :]) == {
        "model": MODEL,
        "stopReason": "endTurn",
        "role": "assistant",
        "content": {"type": "text", "text": "Teal, of course."},
    }
    outcome = done.json()
    assert outcome["output"] == result
    (tool_call,) = outcome["tool_calls"]
    assert (tool_call["tool"], tool_call["is_error"]) == ("trigger-sampling-request", False)
    assert "· sampling for everything: test/model, 15 tokens, $0.001000" in done.stderr.splitlines()


@TRANSPORTS
def test_sampling_is_refused_when_not_allowed_and_nobody_can_be_asked(tmp_path: Path, transport: str) -> None:
    with everything_config(tmp_path, transport) as config:
        done, server = run_everything(
            tmp_path,
            config,
            reply(None, call("trigger-sampling-request", {"prompt": "name a colour"})),
            quote_tool_result,
        )
    reason = f"{NOT_AT_A_TERMINAL} (--allow-sampling allows it)"
    assert (
        f"warning: MCP server 'everything' asked for a model completion (sampling); refused: {reason}"
    ) in done.stderr.splitlines()
    assert len(server.chat_bodies) == 2  # the model was not asked for the server
    assert tool_messages(server.chat_bodies[1]) == [f"MCP error -1: Sampling request refused: {reason}"]
    (tool_call,) = done.json()["tool_calls"]
    assert tool_call["is_error"] is True


# -- elicitation -------------------------------------------------------------------------------


@TRANSPORTS
def test_form_and_url_elicitations_are_declined_when_nobody_can_be_asked(
    tmp_path: Path, transport: str
) -> None:
    with everything_config(tmp_path, transport) as config:
        done, server = run_everything(
            tmp_path,
            config,
            reply(None, call("trigger-elicitation-request")),
            reply(
                None,
                call(
                    "trigger-url-elicitation",
                    {"url": "https://example.com/sign-in", "elicitationId": "el-1"},
                ),
            ),
            reply("declined"),
        )
    warning = f"warning: MCP server 'everything' asked for input; declined: {NOT_AT_A_TERMINAL}"
    assert done.stderr.splitlines().count(warning) == 2
    form, url = (tool_messages(body)[-1] for body in server.chat_bodies[1:])
    raw = 'Raw result: {\n  "action": "decline"\n}'
    assert form == f"❌ User declined to provide the requested information.\n\n{raw}"
    assert url == f"❌ User declined to open the URL (Elicitation ID: el-1).\n\n{raw}"
    assert [c["is_error"] for c in done.json()["tool_calls"]] == [False, False]


@pytest.mark.anyio
@TRANSPORTS
async def test_the_api_answers_form_and_url_elicitations_through_the_event_stream(
    tmp_path: Path, transport: str
) -> None:
    given = {
        "name": "Ada Lovelace",
        "check": True,
        "email": "ada@example.com",
        "homepage": "https://example.com/ada",
        "birthdate": "1815-12-10",
        "integer": 7,
        "untitledMultipleSelectEnum": ["Piano", "Drums"],
        "titledSingleSelectEnum": "hero-3",
        "not-in-the-form": "dropped",
    }
    events: list[Event] = []
    with (
        everything_config(tmp_path, transport) as config,
        ScriptedOpenRouter(
            reply(None, call("trigger-elicitation-request", id="call_form")),
            reply(
                None,
                call(
                    "trigger-url-elicitation",
                    {"url": "https://example.com/sign-in", "elicitationId": "el-1"},
                    id="call_url",
                ),
            ),
            reply("thanks"),
        ) as server,
    ):
        agent = Agent(
            model=MODEL,
            mcp_config=config,
            answer_elicitation=answer_through_events,
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
        with anyio.fail_after(60):
            async with agent:
                async for event in agent.events("fill in the forms"):
                    events.append(event)
                    if isinstance(event, ElicitationRequested):
                        request = event.request
                        event.respond(ElicitationAnswer.accept(given if request.mode == "form" else None))
        server.assert_clean()

    form_request, url_request = (e.request for e in events if isinstance(e, ElicitationRequested))
    assert (form_request.call_id, form_request.mode, form_request.message) == (
        "call_form",
        "form",
        "Please provide inputs for the following fields:",
    )
    assert [(f.name, f.kind, f.required, f.default) for f in form_request.fields] == [
        ("name", "string", True, None),
        ("check", "boolean", False, None),
        ("firstLine", "string", False, "It was a dark and stormy night."),
        ("email", "string", False, None),
        ("homepage", "string", False, None),
        ("birthdate", "string", False, None),
        ("integer", "integer", False, 42),
        ("number", "number", False, 3.14),
        ("untitledSingleSelectEnum", "choice", False, "Monica"),
        ("untitledMultipleSelectEnum", "choices", False, ["Guitar"]),
        ("titledSingleSelectEnum", "choice", False, "hero-1"),
        ("titledMultipleSelectEnum", "choices", False, ["fish-1"]),
        ("legacyTitledEnum", "choice", False, "pet-1"),
    ]
    assert [(o.value, o.title) for o in form_request.fields[10].options] == [
        ("hero-1", "Superman"),
        ("hero-2", "Green Lantern"),
        ("hero-3", "Wonder Woman"),
    ]
    assert (url_request.call_id, url_request.mode, url_request.url) == (
        "call_url",
        "url",
        "https://example.com/sign-in",
    )
    assert [
        (e.server, e.call_id, e.action, e.reason) for e in events if isinstance(e, ElicitationAnswered)
    ] == [
        ("everything", "call_form", "accept", None),
        ("everything", "call_url", "accept", None),
    ]

    # what the server made of the answers, as the model was sent it
    form, url = (tool_messages(body)[-1] for body in server.chat_bodies[1:])
    summary, raw = form.split("\n\nRaw result: ")
    assert summary == (
        "✅ User provided the requested information!\nUser inputs:\n"
        "- Name: Ada Lovelace\n- Agreed to terms: true\n- Email: ada@example.com\n"
        "- Homepage: https://example.com/ada\n- Birthdate: 1815-12-10\n"
        "- Favorite Integer: 7\n- Favorite Number: 3.14"
    )
    # the form's own fields only, and the schema's defaults for those left out
    assert json.loads(raw) == {
        "action": "accept",
        "content": {
            **{name: value for name, value in given.items() if name != "not-in-the-form"},
            "firstLine": "It was a dark and stormy night.",
            "number": 3.14,
            "untitledSingleSelectEnum": "Monica",
            "titledMultipleSelectEnum": ["fish-1"],
            "legacyTitledEnum": "pet-1",
        },
    }
    assert url == (
        "✅ User completed the URL elicitation flow.\nElicitation ID: el-1\nURL: https://example.com/sign-in"
        '\n\nRaw result: {\n  "action": "accept"\n}'
    )


# -- roots -------------------------------------------------------------------------------------

ROOTS_NOTE = (
    "\n\nNote: This server demonstrates the roots protocol capability but doesn't actually access files. "
    "The roots are provided by the MCP client and can be used by servers that need file system access."
)


@TRANSPORTS
def test_the_server_lists_the_working_directory_or_the_root_options_as_its_roots(
    tmp_path: Path, transport: str
) -> None:
    (tmp_path / "data").mkdir()
    elsewhere = tmp_path / "else where"
    elsewhere.mkdir()
    steps: list[Step] = [reply(None, call("get-roots-list")), quote_tool_result]
    with everything_config(tmp_path, transport) as config:
        default, _ = run_everything(tmp_path, config, *steps)
        chosen, _ = run_everything(
            tmp_path, config, *steps, args=["--root", "data", "--root", str(elsewhere)]
        )
    here = tmp_path.resolve()
    assert default.json()["output"] == (
        f"Current MCP Roots (1 total):\n\n1. {here.name}\n   URI: {here.as_uri()}{ROOTS_NOTE}"
    )
    assert chosen.json()["output"] == (
        "Current MCP Roots (2 total):\n\n"
        f"1. data\n   URI: {(here / 'data').as_uri()}\n\n"
        f"2. else where\n   URI: {elsewhere.resolve().as_uri()}{ROOTS_NOTE}"
    )
    assert "%20" in elsewhere.resolve().as_uri()
