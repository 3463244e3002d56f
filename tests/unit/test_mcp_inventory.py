"""What the manager lists and reads from in-process servers: servers, tools, prompts, resources."""

from __future__ import annotations

from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp.server import Server, ServerRequestContext
from mcp.shared.exceptions import MCPError

from agent.errors import ConfigError, McpError
from agent.events import Event, Notice
from agent.loop import _ToolTable
from agent.mcp.content import ResourceContent
from agent.mcp.inventory import PromptArgumentEntry, PromptEntry, ResourceEntry, ServerEntry, ToolEntry
from agent.mcp.manager import McpManager
from agent.mcp.targets import ServerTarget
from agent.messages import AssistantMessage, UserMessage
from tests.fixtures import mcp_library_server, mcp_test_server
from tests.fixtures.mcp_library_server import COVER, README
from tests.fixtures.mcp_memory import MemoryLink, tool_server

pytestmark = pytest.mark.anyio


async def echo(arguments: dict[str, Any]) -> str:
    return str(arguments.get("message", ""))


def plain() -> MemoryLink:
    """A low-level server with tools only: it offers neither resources nor prompts."""
    return MemoryLink(tool_server("plain", {"echo": echo}))


def refusing() -> MemoryLink:
    link = plain()
    link.refuse = True
    return link


def broken_listings() -> Server[Any]:
    """A server that offers prompts and resources, then fails to list them."""

    async def fail(ctx: ServerRequestContext[Any], params: Any) -> Any:
        raise MCPError(code=types.INTERNAL_ERROR, message="the catalogue is on fire")

    return Server("broken", on_list_prompts=fail, on_list_resources=fail)


def started(entries: list[ServerEntry]) -> list[ServerEntry]:
    """``entries`` with the start-up time (never asserted: no wall-clock asserts) checked and cleared."""
    for entry in entries:
        assert (entry.startup_ms is not None) == (entry.status != "disabled")
    return [entry.model_copy(update={"startup_ms": None}) for entry in entries]


async def test_servers_report_transport_protocol_and_what_each_offers() -> None:
    targets: dict[str, ServerTarget] = {
        "library": mcp_library_server.build_server(),
        "plain": plain(),
        "down": refusing(),
    }
    with anyio.fail_after(5):
        async with McpManager(targets, disabled=["off"]) as manager:
            entries = started(await manager.server_entries())
    assert entries == [
        ServerEntry(
            name="library",
            status="active",
            transport="in-process",
            protocol_version="2025-11-25",
            server_info="library 2.0.0",
            tools=1,
            resources=2,
            resource_templates=1,
            prompts=3,
        ),
        ServerEntry(
            name="plain",
            status="active",
            transport="custom",
            protocol_version="2025-11-25",
            server_info="plain",
            tools=1,
        ),
        ServerEntry(
            name="down",
            status="failed",
            transport="custom",
            error="start-up failed: ConnectionRefusedError: connection refused",
        ),
        ServerEntry(name="off", status="disabled"),
    ]


async def test_a_server_without_resources_or_prompts_lists_none_and_warns_of_nothing() -> None:
    events: list[Event] = []
    with anyio.fail_after(5):
        async with McpManager({"plain": plain()}, on_event=events.append) as manager:
            assert await manager.prompt_entries() == []
            assert await manager.resource_entries() == []
            [entry] = await manager.server_entries()
    assert (entry.resources, entry.resource_templates, entry.prompts) == (0, 0, 0)
    assert [e for e in events if isinstance(e, Notice)] == []


async def test_a_server_of_prompts_and_resources_only_starts_with_no_tools() -> None:
    async def prompts(ctx: ServerRequestContext[Any], params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(prompts=[types.Prompt(name="hello")])

    with anyio.fail_after(5):
        async with McpManager({"p": Server("p", on_list_prompts=prompts)}) as manager:
            assert [r.model_dump() for r in manager.reports()] == [
                {"name": "p", "status": "active", "tools": 0, "error": None}
            ]
            assert await manager.tool_entries() == []
            assert [p.name for p in await manager.prompt_entries()] == ["hello"]


async def test_a_server_failing_a_listing_is_warned_of_and_lists_nothing() -> None:
    events: list[Event] = []
    targets: dict[str, ServerTarget] = {
        "broken": broken_listings(),
        "library": mcp_library_server.build_server(),
    }
    with anyio.fail_after(5):
        async with McpManager(targets, on_event=events.append) as manager:
            prompts = await manager.prompt_entries()
    assert [p.name for p in prompts] == ["review", "recap", "notes"]
    assert [e.message for e in events if isinstance(e, Notice)] == [
        "MCP server 'broken': could not list prompts: the catalogue is on fire"
    ]


async def test_tools_are_listed_with_the_names_the_model_sees() -> None:
    targets: dict[str, ServerTarget] = {"t": mcp_test_server.build_server(), "a": plain(), "b": plain()}
    with anyio.fail_after(5):
        async with McpManager(targets) as manager:
            entries = await manager.tool_entries()
            tools = manager.tools()
    table = _ToolTable()  # what the loop shows the model
    table.update(tools)
    seen = {(e.server, e.name): e.model_name for e in entries}
    assert seen == {(t.server, t.name): table.names.name_for(t.server, t.name) for t in tools}
    assert seen[("t", "files.read-all")] == "files_read-all"
    assert (seen[("a", "echo")], seen[("b", "echo")], seen[("t", "echo")]) == (
        "a__echo",
        "b__echo",
        "t__echo",
    )


async def test_a_tool_entry_carries_title_annotations_and_schema() -> None:
    with anyio.fail_after(5):
        async with McpManager({"library": mcp_library_server.build_server()}) as manager:
            [entry] = await manager.tool_entries()
    assert entry == ToolEntry(
        server="library",
        name="lookup",
        model_name="lookup",
        title="Look up a book",
        description="Find books whose title has the term.",
        annotations={"read_only_hint": True, "idempotent_hint": True, "open_world_hint": False},
        input_schema={
            "type": "object",
            "title": "lookupArguments",
            "properties": {
                "term": {"title": "Term", "type": "string"},
                "limit": {"default": 5, "title": "Limit", "type": "integer"},
            },
            "required": ["term"],
        },
    )


async def test_prompts_and_resources_are_listed_with_their_arguments_and_types() -> None:
    with anyio.fail_after(5):
        async with McpManager({"library": mcp_library_server.build_server()}) as manager:
            prompts = await manager.prompt_entries()
            resources = await manager.resource_entries()
    assert prompts[0] == PromptEntry(
        server="library",
        name="review",
        description="Ask for a review of a book.",
        arguments=[PromptArgumentEntry(name="title", required=True), PromptArgumentEntry(name="tone")],
    )
    assert prompts[0].required == ["title"]
    assert [(p.name, p.required) for p in prompts] == [
        ("review", ["title"]),
        ("recap", ["topic"]),
        ("notes", []),
    ]
    assert resources == [
        ResourceEntry(
            server="library",
            uri="library://notes/readme",
            name="readme",
            description="How the library works.",
            mime_type="text/plain",
        ),
        ResourceEntry(
            server="library",
            uri="library://images/cover",
            name="cover",
            description="",
            mime_type="image/png",
        ),
        ResourceEntry(
            server="library",
            uri="library://books/{isbn}",
            name="book",
            template=True,
            description="One book by ISBN.",
            mime_type="text/plain",
        ),
    ]


async def test_resources_read_as_text_or_as_the_size_of_their_binary_data() -> None:
    with anyio.fail_after(5):
        async with McpManager({"library": mcp_library_server.build_server()}) as manager:
            assert await manager.read_resource("library", "library://notes/readme") == [
                ResourceContent(uri="library://notes/readme", mime_type="text/plain", text=README)
            ]
            assert await manager.read_resource("library", "library://images/cover") == [
                ResourceContent(uri="library://images/cover", mime_type="image/png", size=len(COVER))
            ]
            assert await manager.read_resource("library", "library://books/42") == [
                ResourceContent(uri="library://books/42", mime_type="text/plain", text="Book 42: a novel.")
            ]


async def test_reading_what_is_not_there_is_a_usage_error_and_a_dead_server_is_not() -> None:
    targets: dict[str, ServerTarget] = {"library": mcp_library_server.build_server(), "down": refusing()}
    with anyio.fail_after(5):
        async with McpManager(targets, disabled=["off"]) as manager:
            with pytest.raises(ConfigError) as unknown_uri:
                await manager.read_resource("library", "library://nope")
            with pytest.raises(ConfigError) as unknown_server:
                await manager.read_resource("nosuch", "library://notes/readme")
            with pytest.raises(ConfigError) as disabled:
                await manager.read_resource("off", "x://y")
            with pytest.raises(McpError) as failed:
                await manager.read_resource("down", "x://y")
    assert str(unknown_uri.value) == (
        "MCP server 'library' has no resource 'library://nope' (Unknown resource: library://nope)"
    )
    assert str(unknown_server.value) == "no MCP server 'nosuch' is attached (attached: library, down)"
    assert str(disabled.value) == "MCP server 'off' is disabled in the MCP config"
    assert str(failed.value) == (
        "MCP server 'down': did not start: start-up failed: ConnectionRefusedError: connection refused"
    )
    assert (unknown_uri.value.exit_code, failed.value.exit_code) == (2, 1)


async def test_a_prompt_becomes_user_and_assistant_messages() -> None:
    with anyio.fail_after(5):
        async with McpManager({"library": mcp_library_server.build_server()}) as manager:
            review = await manager.get_prompt("library", "review", {"title": "Dune", "tone": "stern"})
            recap = await manager.get_prompt("library", "recap", {"topic": "owls"})
            notes = await manager.get_prompt("library", "notes", {})
    assert review == [UserMessage(content="Write a stern review of Dune.")]
    assert recap == [
        UserMessage(content="What do we know about owls?"),
        AssistantMessage(content="owls is well documented."),
    ]
    assert notes == [
        UserMessage(
            content='<resource server="library" uri="library://notes/readme" mime_type="text/plain">\n'
            f"{README}\n</resource>"
        ),
        UserMessage(content="When does the library open?"),
    ]


@pytest.mark.parametrize(
    ("name", "arguments", "message"),
    [
        ("nope", {}, "MCP server 'library' has no prompt 'nope' (its prompts: review, recap, notes)"),
        (
            "review",
            {},
            "prompt 'review' of MCP server 'library' needs the argument title (give --arg NAME=VALUE)",
        ),
        (
            "review",
            {"title": "Dune", "colour": "red"},
            "prompt 'review' of MCP server 'library' has no argument 'colour' (it takes: title, tone)",
        ),
    ],
)
async def test_a_prompt_name_or_argument_the_server_does_not_have_is_a_usage_error(
    name: str, arguments: dict[str, str], message: str
) -> None:
    with anyio.fail_after(5):
        async with McpManager({"library": mcp_library_server.build_server()}) as manager:
            with pytest.raises(ConfigError) as caught:
                await manager.get_prompt("library", name, arguments)
    assert (str(caught.value), caught.value.exit_code) == (message, 2)


def strict_server() -> Server[Any]:
    """A server that refuses some prompt arguments and fails some reads."""

    async def list_prompts(ctx: ServerRequestContext[Any], params: Any) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[types.Prompt(name="count", arguments=[types.PromptArgument(name="n", required=True)])]
        )

    async def get_prompt(ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> Any:
        n = (params.arguments or {}).get("n", "")
        if not n.isdigit():
            raise MCPError(code=types.INVALID_PARAMS, message="n must be a number")
        raise MCPError(code=types.INTERNAL_ERROR, message="the counter is broken")

    async def read_resource(ctx: ServerRequestContext[Any], params: Any) -> Any:
        raise MCPError(code=types.INTERNAL_ERROR, message="disk on fire")

    return Server(
        "strict", on_list_prompts=list_prompts, on_get_prompt=get_prompt, on_read_resource=read_resource
    )


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (
            {"n": "many"},
            ConfigError,
            "MCP server 'strict' refused prompt 'count' with these arguments (n must be a number)",
        ),
        ({"n": "3"}, McpError, "MCP server 'strict': could not get prompt 'count': the counter is broken"),
    ],
)
async def test_a_refused_prompt_argument_is_a_usage_error_and_a_failing_server_is_not(
    arguments: dict[str, str], error: type[Exception], message: str
) -> None:
    with anyio.fail_after(5):
        async with McpManager({"strict": strict_server()}) as manager:
            with pytest.raises(error) as caught:
                await manager.get_prompt("strict", "count", arguments)
    assert str(caught.value) == message


async def test_a_server_failing_a_read_is_a_server_error() -> None:
    with anyio.fail_after(5):
        async with McpManager({"strict": strict_server()}) as manager:
            with pytest.raises(McpError) as caught:
                await manager.read_resource("strict", "x://y")
    assert (str(caught.value), caught.value.exit_code) == (
        "MCP server 'strict': could not read resource 'x://y': disk on fire",
        1,
    )
