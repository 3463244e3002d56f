"""The client side of MCP against in-process servers of both protocol eras.

``legacy`` connects with the initialize handshake (2025-11-25); ``auto`` connects an in-process
server statelessly (2026-07-28), where the server's requests ride inside the tool call.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.client._transport import TransportStreams
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp.shared.memory import create_client_server_memory_streams
from mcp.shared.message import SessionMessage

from agent.events import (
    ElicitationAnswer,
    ElicitationAnswered,
    ElicitationField,
    ElicitationOption,
    ElicitationRequest,
    ElicitationRequested,
    Event,
    SamplingFinished,
    SamplingRequest,
    SamplingRequested,
    ServerLog,
    ToolProgress,
    ToolsRefreshFailed,
    answer_through_events,
)
from agent.loop import RunOptions, run_agent
from agent.mcp.client_features import ClientFeatures, Refused
from agent.mcp.manager import McpManager
from agent.messages import (
    AssistantMessage,
    ModelResponse,
    RequestSettings,
    ToolCall,
    ToolSpec,
    Usage,
    UserMessage,
)
from agent.testing import ScriptedChatModel, call, reply
from agent.tools import ToolOutcome
from tests.fixtures.mcp_client_features_server import build_server

pytestmark = pytest.mark.anyio

ERAS = pytest.mark.parametrize("mode", ["legacy", "auto"])


class Sampler:
    """A sampler that records what it was asked and answers with ``response`` (or raises ``error``)."""

    def __init__(self, response: ModelResponse | None = None, error: Exception | None = None) -> None:
        self.response = response
        self.error = error
        self.asked: list[tuple[SamplingRequest, list[ToolSpec], RequestSettings]] = []

    async def __call__(
        self, request: SamplingRequest, tools: Sequence[ToolSpec], settings: RequestSettings
    ) -> ModelResponse:
        self.asked.append((request, list(tools), settings))
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


class Elicitor:
    """An elicitation handler that records the requests and gives ``answer`` (or raises ``error``)."""

    def __init__(self, answer: ElicitationAnswer | None = None, error: Exception | None = None) -> None:
        self.answer = answer
        self.error = error
        self.asked: list[ElicitationRequest] = []

    async def __call__(self, request: ElicitationRequest) -> ElicitationAnswer:
        self.asked.append(request)
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


def manager(
    mode: str, features: ClientFeatures | None = None, events: list[Event] | None = None
) -> McpManager:
    sink = events.append if events is not None else None
    return McpManager({"s": build_server()}, modes={"s": mode}, features=features, on_event=sink)  # type: ignore[dict-item]


async def run_one(
    m: McpManager, tool: str, arguments: dict[str, Any] | None = None
) -> tuple[str, list[Event]]:
    """Run ``tool`` through the loop (so the call has a run and an id); its output and the events."""
    events: list[Event] = []
    model = ScriptedChatModel([reply(None, call(tool, arguments or {}, id="call_1")), reply("ok")])
    result = await run_agent(model, m, "go", on_event=events.append)
    return result.tool_calls[0].output, events


def kinds(events: list[Event], *types_: type) -> list[Event]:
    return [e for e in events if isinstance(e, types_)]


# -- protocol eras ----------------------------------------------------------------------------


async def test_one_manager_serves_servers_of_both_protocol_eras() -> None:
    servers: dict[str, Any] = {"old": build_server(), "new": build_server()}
    with anyio.fail_after(5):
        async with McpManager(servers, modes={"old": "legacy", "new": "auto"}) as m:
            entries = await m.server_entries()
            assert [(e.name, e.protocol_version, e.server_info) for e in entries] == [
                ("old", "2025-11-25", "client-features 1.0.0"),
                ("new", "2026-07-28", "client-features 1.0.0"),
            ]
            assert await m.call("old", "slow_progress", {}) == ToolOutcome("done")
            assert await m.call("new", "slow_progress", {}) == ToolOutcome("done")


async def test_a_server_pinned_to_2026_learns_its_capabilities_by_discovery() -> None:
    with anyio.fail_after(5):
        async with McpManager({"s": build_server()}, modes={"s": "2026-07-28"}) as m:
            (entry,) = await m.server_entries()
            assert (entry.status, entry.protocol_version, entry.server_info) == (
                "active",
                "2026-07-28",
                "client-features 1.0.0",
            )
            assert entry.tools == len(m.tools()) > 5


def method_not_found_server() -> Any:
    """A transport to a server that answers every request 'Method not found' (no 2026 at all)."""

    @asynccontextmanager
    async def open_() -> AsyncIterator[TransportStreams]:
        async with create_client_server_memory_streams() as (client, (read, write)):

            async def answer() -> None:
                async for message in read:
                    if isinstance(message, SessionMessage) and isinstance(
                        message.message, types.JSONRPCRequest
                    ):
                        error = types.ErrorData(code=types.METHOD_NOT_FOUND, message="Method not found")
                        reply_ = types.JSONRPCError(jsonrpc="2.0", id=message.message.id, error=error)
                        await write.send(SessionMessage(reply_))

            async with anyio.create_task_group() as tg:
                tg.start_soon(answer)
                yield client
                tg.cancel_scope.cancel()

    return open_


async def test_a_server_pinned_to_2026_that_does_not_speak_it_fails_to_start_saying_so() -> None:
    with anyio.fail_after(5):
        async with McpManager({"old": method_not_found_server()}, modes={"old": "2026-07-28"}) as m:
            assert [(s.name, s.error.detail if s.error else None) for s in m.failed] == [
                (
                    "old",
                    "start-up failed: the server does not speak MCP 2026-07-28 "
                    "(server/discover: Method not found)",
                )
            ]


# -- tool lists that change -------------------------------------------------------------------


@ERAS
async def test_a_tool_added_during_a_call_is_offered_from_the_next_turn(mode: str) -> None:
    model = ScriptedChatModel([reply(None, call("grow")), reply(None, call("extra")), reply("done")])
    with anyio.fail_after(5):
        async with manager(mode) as m:
            result = await run_agent(model, m, "go")
    assert "extra" not in [t.name for t in model.requests[0].tools]
    assert "extra" in [t.name for t in model.requests[1].tools]
    assert [(c.tool, c.output) for c in result.tool_calls] == [("grow", "grown"), ("extra", "extra here")]


def breaking_server() -> Server[Any]:
    """A server whose ``break`` tool says the tools changed, after which listing them fails."""
    broken = False

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        if broken:
            raise MCPError(types.INTERNAL_ERROR, "the tool registry is locked")
        return types.ListToolsResult(
            tools=[types.Tool(name=n, input_schema={"type": "object"}) for n in ("break", "echo")]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        nonlocal broken
        if params.name == "break":
            broken = True
            await ctx.session.send_tool_list_changed()
        return types.CallToolResult(content=[types.TextContent(text=params.name)])

    return Server("breaking", on_list_tools=list_tools, on_call_tool=call_tool)


async def test_a_tool_list_that_cannot_be_listed_again_stays_as_it_was_and_says_why() -> None:
    events: list[Event] = []
    with anyio.fail_after(5):
        async with McpManager({"b": breaking_server()}, on_event=events.append) as m:
            assert await m.call("b", "break", {}) == ToolOutcome("break")
            assert [t.name for t in m.tools()] == ["break", "echo"]
            assert await m.call("b", "echo", {}) == ToolOutcome("echo")
    assert kinds(events, ToolsRefreshFailed) == [
        ToolsRefreshFailed(server="b", error="the tool registry is locked", tools=2)
    ]


# -- progress, logs, cancellation, ping ------------------------------------------------------


@ERAS
async def test_progress_of_a_tool_call_reaches_its_run_as_events_naming_the_call(mode: str) -> None:
    with anyio.fail_after(5):
        async with manager(mode) as m:
            output, events = await run_one(m, "slow_progress", {"steps": 3})
    assert output == "done"
    assert kinds(events, ToolProgress) == [
        ToolProgress(
            server="s", tool="slow_progress", call_id="call_1", progress=n, total=3, message=f"step {n} of 3"
        )
        for n in (1, 2, 3)
    ]


async def test_a_call_made_outside_a_listening_run_reports_no_progress() -> None:
    events: list[Event] = []
    with anyio.fail_after(5):
        async with manager("legacy", events=events) as m:
            assert await m.call("s", "slow_progress", {}) == ToolOutcome("done")
            model = ScriptedChatModel([reply(None, call("slow_progress")), reply("ok")])
            await run_agent(model, m, "go")  # a run without an event sink
    assert kinds(events, ToolProgress) == []


@ERAS
async def test_server_logs_at_or_above_the_chosen_level_become_events(mode: str) -> None:
    events: list[Event] = []
    with anyio.fail_after(5):
        async with manager(mode, ClientFeatures(log_level="info"), events) as m:
            assert await m.call("s", "chatty", {}) == ToolOutcome("logged")
    assert kinds(events, ServerLog) == [
        ServerLog(server="s", level="info", logger="fixture", message="starting work"),
        ServerLog(server="s", level="warning", logger="fixture", message="disk almost full\x1b]0;pwned\x07!"),
        ServerLog(server="s", level="error", logger="fixture", message='{"code": 7}'),
    ]


async def test_no_logs_are_reported_when_none_are_asked_for() -> None:
    events: list[Event] = []
    with anyio.fail_after(5):
        async with manager("legacy", ClientFeatures(), events) as m:
            assert await m.call("s", "chatty", {}) == ToolOutcome("logged")
    assert kinds(events, ServerLog) == []


def hanging_server() -> tuple[Server[Any], anyio.Event, anyio.Event]:
    started, cancelled = anyio.Event(), anyio.Event()

    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[types.Tool(name=n, input_schema={"type": "object"}) for n in ("hang", "echo")]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        if params.name == "hang":
            started.set()
            try:
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                cancelled.set()
                raise
        return types.CallToolResult(content=[types.TextContent(text="still here")])

    return Server("hanging", on_list_tools=list_tools, on_call_tool=call_tool), started, cancelled


@ERAS
async def test_an_abandoned_call_is_cancelled_on_the_server_which_stays_usable(mode: str) -> None:
    server, started, cancelled = hanging_server()
    model = ScriptedChatModel([reply(None, call("hang")), reply(None, call("echo")), reply("ok")])
    with anyio.fail_after(5):
        async with McpManager({"h": server}, modes={"h": mode}) as m:  # type: ignore[dict-item]
            result = await run_agent(model, m, "go", RunOptions(tool_timeout=0.05))
            await started.wait()
            await cancelled.wait()
    assert [(c.tool, c.is_error, c.output) for c in result.tool_calls] == [
        ("hang", True, "Tool 'hang' timed out after 0.05 s and was cancelled."),
        ("echo", False, "still here"),
    ]


async def test_a_server_ping_is_answered_by_the_client() -> None:
    with anyio.fail_after(5):
        async with manager("legacy") as m:
            assert await m.call("s", "ping_back", {}) == ToolOutcome("pong")


# -- roots -------------------------------------------------------------------------------------


@ERAS
async def test_roots_are_offered_as_file_uris(mode: str, tmp_path: Path) -> None:
    other = tmp_path / "other dir"
    other.mkdir()
    with anyio.fail_after(5):
        async with manager(mode, ClientFeatures(roots=(tmp_path, other))) as m:
            outcome = await m.call("s", "where", {})
    assert outcome == ToolOutcome(f"{tmp_path.as_uri()}\n{other.as_uri()}")
    assert outcome.text.splitlines()[1].endswith("/other%20dir")


async def test_a_client_offering_no_roots_does_not_advertise_them() -> None:
    with anyio.fail_after(5):
        async with manager("legacy") as m:
            outcome = await m.call("s", "where", {})
    assert outcome.is_error


# -- sampling ------------------------------------------------------------------------------


@ERAS
async def test_a_sampling_request_is_answered_by_the_sampler_with_the_conversation_in_our_terms(
    mode: str,
) -> None:
    answer = ModelResponse(
        message=AssistantMessage(content="It is short."), model="test/model", usage=Usage(total_tokens=7)
    )
    sampler = Sampler(answer)
    with anyio.fail_after(5):
        async with manager(mode, ClientFeatures(sampler=sampler)) as m:
            output, events = await run_one(m, "summarise", {"text": "a long story"})
    assert output == "test/model: It is short."
    (asked,) = sampler.asked
    assert asked == (
        SamplingRequest(
            server="s",
            call_id="call_1",
            messages=[UserMessage(content="Summarise: a long story")],
            system_prompt="You summarise.",
            max_tokens=50,
        ),
        [],
        RequestSettings(stream=False, max_tokens=50),
    )
    assert kinds(events, SamplingRequested, SamplingFinished) == [
        SamplingRequested(request=asked[0]),
        SamplingFinished(
            server="s", call_id="call_1", approved=True, model="test/model", usage=Usage(total_tokens=7)
        ),
    ]


@ERAS
async def test_sampling_with_tools_returns_the_models_tool_use_under_the_servers_tool_name(mode: str) -> None:
    use = ToolCall(id="use_1", name="files_read", arguments='{"path": "notes.txt"}')
    sampler = Sampler(
        ModelResponse(message=AssistantMessage(tool_calls=[use]), finish_reason="tool_calls", model="m")
    )
    with anyio.fail_after(5):
        async with manager(mode, ClientFeatures(sampler=sampler)) as m:
            outcome = await m.call("s", "pick_tool", {})
    assert json.loads(outcome.text) == {
        "stop_reason": "toolUse",
        "uses": [{"name": "files.read", "input": {"path": "notes.txt"}}],
    }
    request, tools, _ = sampler.asked[0]
    assert (request.tools, request.call_id) == (["files.read"], None)
    assert tools == [
        ToolSpec(
            name="files_read",
            description="Read a file",
            parameters={"type": "object", "properties": {"path": {"type": "string"}}},
        )
    ]


@ERAS
async def test_a_refused_sampling_request_fails_the_tool_and_says_why(mode: str) -> None:
    sampler = Sampler(error=Refused("not approved"))
    with anyio.fail_after(5):
        async with manager(mode, ClientFeatures(sampler=sampler)) as m:
            output, events = await run_one(m, "summarise", {"text": "x"})
    assert "Sampling request refused: not approved" in output
    assert kinds(events, SamplingFinished) == [
        SamplingFinished(server="s", call_id="call_1", approved=False, error="not approved")
    ]


# -- elicitation -----------------------------------------------------------------------------

BOOKING_FIELDS = [
    ElicitationField(
        name="date", title="Date", description="Which day", kind="string", required=True, format="date"
    ),
    ElicitationField(
        name="guests",
        title="Guests",
        description="How many people",
        kind="integer",
        default=2,
        minimum=1,
        maximum=12,
    ),
    ElicitationField(
        name="seating",
        title="Seating",
        kind="choice",
        default="indoor",
        options=[
            ElicitationOption(value="indoor", title="indoor"),
            ElicitationOption(value="outdoor", title="outdoor"),
        ],
    ),
    ElicitationField(name="confirm", title="Confirm", kind="boolean", default=False),
]


@ERAS
async def test_an_elicitation_form_is_answered_field_by_field_from_the_schema(mode: str) -> None:
    elicitor = Elicitor(ElicitationAnswer.accept({"date": "2026-08-01", "guests": 4}))
    with anyio.fail_after(5):
        async with manager(mode, ClientFeatures(elicitor=elicitor)) as m:
            output, events = await run_one(m, "book")
    assert json.loads(output) == {
        "action": "accept",
        "data": {"date": "2026-08-01", "guests": 4, "seating": "indoor", "confirm": False},
    }
    (request,) = elicitor.asked
    assert (request.server, request.call_id, request.mode, request.message) == (
        "s",
        "call_1",
        "form",
        "Book a table?",
    )
    assert request.fields == BOOKING_FIELDS
    assert kinds(events, ElicitationAnswered) == [
        ElicitationAnswered(server="s", call_id="call_1", action="accept")
    ]


async def test_the_client_fills_in_schema_defaults_an_answer_leaves_out_and_drops_unknown_fields() -> None:
    elicitor = Elicitor(ElicitationAnswer.accept({"name": "Ann", "favourite": "blue"}))
    with anyio.fail_after(5):
        async with manager("legacy", ClientFeatures(elicitor=elicitor)) as m:
            outcome = await m.call("s", "raw_form", {})
    assert json.loads(outcome.text) == {"action": "accept", "content": {"name": "Ann", "size": 3}}


@ERAS
async def test_an_elicitation_can_be_answered_through_its_event_by_another_task(mode: str) -> None:
    send, receive = anyio.create_memory_object_stream[Event](100)

    async def consumer() -> None:
        async for event in receive:
            if isinstance(event, ElicitationRequested):
                assert event.respond(ElicitationAnswer.accept({"date": "2026-12-24"}))
                assert not event.respond(ElicitationAnswer.decline())  # answered once only

    model = ScriptedChatModel([reply(None, call("book")), reply("ok")])
    with anyio.fail_after(5):
        async with (
            send,
            receive,
            manager(mode, ClientFeatures(elicitor=answer_through_events)) as m,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(consumer)
            result = await run_agent(model, m, "go", on_event=send.send_nowait)
            tg.cancel_scope.cancel()
    assert json.loads(result.tool_calls[0].output)["data"]["date"] == "2026-12-24"


@ERAS
async def test_a_refused_elicitation_is_declined_with_the_reason(mode: str) -> None:
    elicitor = Elicitor(error=Refused("not at a terminal"))
    with anyio.fail_after(5):
        async with manager(mode, ClientFeatures(elicitor=elicitor)) as m:
            output, events = await run_one(m, "book")
    assert json.loads(output) == {"action": "decline", "data": None}
    assert kinds(events, ElicitationRequested)[0].request.fields == BOOKING_FIELDS  # type: ignore[union-attr]
    assert kinds(events, ElicitationAnswered) == [
        ElicitationAnswered(server="s", call_id="call_1", action="decline", reason="not at a terminal")
    ]


async def test_a_url_elicitation_shows_the_url_and_a_url_that_is_not_a_web_page_is_declined_unasked() -> None:
    elicitor = Elicitor(ElicitationAnswer.accept())
    events: list[Event] = []
    with anyio.fail_after(5):
        async with manager("legacy", ClientFeatures(elicitor=elicitor), events) as m:
            assert await m.call("s", "visit", {}) == ToolOutcome("accept")
            assert await m.call("s", "visit", {"url": "javascript:alert(1)"}) == ToolOutcome("decline")
    (request,) = elicitor.asked
    assert (request.mode, request.message, request.url) == (
        "url",
        "Sign in to continue",
        "https://example.com/sign-in",
    )
    assert kinds(events, ElicitationAnswered) == [
        ElicitationAnswered(server="s", action="accept"),
        ElicitationAnswered(server="s", action="decline", reason="the URL is not an http(s) URL"),
    ]


async def test_an_elicitation_handler_that_breaks_cancels_the_request_and_the_server_goes_on() -> None:
    elicitor = Elicitor(error=RuntimeError("boom"))
    events: list[Event] = []
    with anyio.fail_after(5):
        async with manager("legacy", ClientFeatures(elicitor=elicitor), events) as m:
            outcome = await m.call("s", "book", {})
            assert await m.call("s", "slow_progress", {}) == ToolOutcome("done")
    assert json.loads(outcome.text) == {"action": "cancel", "data": None}
    assert kinds(events, ElicitationAnswered) == [
        ElicitationAnswered(server="s", action="cancel", reason="the handler failed: RuntimeError: boom")
    ]
