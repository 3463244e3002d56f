"""Resources and prompts as the opening of a conversation, the options that ask for them, and
listing through an ``Agent`` that has no model or key."""

from __future__ import annotations

from pathlib import Path

import anyio
import mcp_types as types
import pytest

from agent import Agent
from agent.errors import ConfigError
from agent.mcp.content import ResourceContent, prompt_messages, resource_block, resource_message
from agent.mcp.manager import McpManager
from agent.mcp.opening import opening_messages, split_reference
from agent.messages import AssistantMessage, UserMessage
from agent.options import parse_options
from tests.fixtures import mcp_library_server
from tests.fixtures.mcp_library_server import README


@pytest.mark.parametrize(
    ("content", "limit", "block"),
    [
        (
            ResourceContent(uri="file:///a.txt", mime_type="text/plain", text="hello"),
            100,
            '<resource server="fs" uri="file:///a.txt" mime_type="text/plain">\nhello\n</resource>',
        ),
        (
            ResourceContent(uri="file:///a.txt", text="abcdefghij"),
            4,
            '<resource server="fs" uri="file:///a.txt">\nabcd\n[cut: the first 4 of 10 characters shown]\n'
            "</resource>",
        ),
        (
            ResourceContent(uri="img://logo", mime_type="image/png", size=4096),
            100,
            '<resource server="fs" uri="img://logo" mime_type="image/png">'
            "[image/png, 4.0 KiB; not shown]</resource>",
        ),
        (
            ResourceContent(uri='x://"><b', size=12),
            100,
            '<resource server="fs" uri="x://&quot;&gt;&lt;b">[binary data, 12 bytes; not shown]</resource>',
        ),
    ],
)
def test_a_resource_is_a_block_labelled_with_its_server_and_uri(
    content: ResourceContent, limit: int, block: str
) -> None:
    assert resource_block("fs", content, limit=limit) == block


def test_a_resource_of_several_parts_is_one_user_message() -> None:
    parts = [ResourceContent(uri="d://1", text="one"), ResourceContent(uri="d://2", text="two")]
    assert resource_message("s", parts) == UserMessage(
        content='<resource server="s" uri="d://1">\none\n</resource>\n<resource server="s" uri="d://2">\ntwo\n</resource>'
    )


def test_prompt_images_and_links_are_described_not_inlined() -> None:
    result = types.GetPromptResult(
        messages=[
            types.PromptMessage(role="user", content=types.ImageContent(data="AAAA", mime_type="image/png")),
            types.PromptMessage(
                role="assistant", content=types.ResourceLink(name="readme", uri="test://readme")
            ),
        ]
    )
    assert prompt_messages("s", result) == [
        UserMessage(content="[image: image/png, 3 bytes; not shown]"),
        AssistantMessage(content="[resource link: readme <test://readme>]"),
    ]


@pytest.mark.parametrize(
    ("value", "servers", "split"),
    [
        ("fs:file:///a.txt", ["fs"], ("fs", "file:///a.txt")),
        ("a:b:c://x", ["a", "a:b"], ("a:b", "c://x")),
        ("other:x://y", ["fs"], ("other", "x://y")),
    ],
)
def test_a_reference_names_the_longest_matching_server(
    value: str, servers: list[str], split: tuple[str, str]
) -> None:
    assert split_reference(value, servers, expected="SERVER:URI", source="--resource") == split


@pytest.mark.parametrize("value", ["nocolon", ":x://y", "fs:"])
def test_a_reference_without_a_server_or_a_target_is_refused(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        split_reference(value, ["fs"], expected="SERVER:URI", source="--resource")
    assert str(caught.value) == f"--resource: expected SERVER:URI, got {value!r}"


@pytest.mark.anyio
async def test_resources_come_first_in_the_order_given_then_the_prompt() -> None:
    with anyio.fail_after(5):
        async with McpManager({"lib": mcp_library_server.build_server()}) as manager:
            messages = await opening_messages(
                manager,
                resources=["lib:library://books/1", "lib:library://notes/readme"],
                prompt="lib:recap",
                prompt_args={"topic": "owls"},
            )
    assert messages == [
        UserMessage(
            content='<resource server="lib" uri="library://books/1" mime_type="text/plain">\n'
            "Book 1: a novel.\n</resource>"
        ),
        UserMessage(
            content='<resource server="lib" uri="library://notes/readme" mime_type="text/plain">\n'
            f"{README}\n</resource>"
        ),
        UserMessage(content="What do we know about owls?"),
        AssistantMessage(content="owls is well documented."),
    ]


@pytest.mark.anyio
async def test_prompt_arguments_without_a_prompt_are_refused() -> None:
    with anyio.fail_after(5):
        async with McpManager({"lib": mcp_library_server.build_server()}) as manager:
            with pytest.raises(ConfigError, match=r"^--arg: prompt arguments are given without --prompt"):
                await opening_messages(manager, prompt_args={"topic": "owls"})


@pytest.mark.parametrize(
    ("values", "as_flags", "expected"),
    [
        ({"prompt_args": ["title=Dune", "tone=a=b"]}, True, {"title": "Dune", "tone": "a=b"}),
        ({"prompt_args": None}, True, {}),
        ({"prompt_args": {"title": "Dune"}}, False, {"title": "Dune"}),
        ({}, False, {}),
    ],
)
def test_prompt_arguments_are_name_value_pairs(
    values: dict[str, object], as_flags: bool, expected: dict[str, str]
) -> None:
    assert parse_options(values, as_flags=as_flags).prompt_args == expected


@pytest.mark.parametrize(("as_flags", "where"), [(True, "--arg"), (False, "prompt_args")])
def test_a_prompt_argument_without_a_value_names_the_flag_or_keyword(as_flags: bool, where: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options({"prompt_args": ["title"]}, as_flags=as_flags)
    assert str(caught.value) == f"{where}: expected NAME=VALUE, got 'title'"


def _keyless(tmp_path: Path) -> dict[str, str]:
    """An environment without any API key or user configuration."""
    return {"HOME": str(tmp_path), "AGENT_CONFIG_DIR": str(tmp_path / "config"), "PATH": ""}


@pytest.mark.anyio
async def test_an_agent_lists_its_servers_offerings_without_a_model_or_key(tmp_path: Path) -> None:
    agent = Agent(
        mcp_servers={"lib": mcp_library_server.build_server()}, env=_keyless(tmp_path), cwd=tmp_path
    )
    with anyio.fail_after(10):
        [server] = await agent.list_servers()  # not entered: it starts the servers only, then stops them
        async with agent.servers_only():
            tools = await agent.list_tools()
            prompts = await agent.list_prompts()
            resources = await agent.list_resources()
            text = await agent.read_resource("lib", "library://books/7")
            review = await agent.get_prompt("lib", "review", {"title": "Dune"})
            with pytest.raises(RuntimeError, match="servers_only"):
                await agent.run("hello")
    assert (server.name, server.status, server.tools, server.prompts) == ("lib", "active", 1, 3)
    assert [t.model_name for t in tools] == ["lookup"]
    assert [p.name for p in prompts] == ["review", "recap", "notes"]
    assert len(resources) == 3
    assert text == [ResourceContent(uri="library://books/7", mime_type="text/plain", text="Book 7: a novel.")]
    assert review == [UserMessage(content="Write a friendly review of Dune.")]


@pytest.mark.anyio
async def test_a_run_without_a_prompt_or_a_server_prompt_is_refused_before_anything_starts(
    tmp_path: Path,
) -> None:
    agent = Agent(
        mcp_servers={"lib": mcp_library_server.build_server()}, env=_keyless(tmp_path), cwd=tmp_path
    )
    with pytest.raises(ConfigError, match=r"^PROMPT: the prompt is empty$"):
        await agent.run()


@pytest.mark.anyio
async def test_a_run_checks_its_own_resources_like_the_agents_options(tmp_path: Path) -> None:
    agent = Agent(
        mcp_servers={"lib": mcp_library_server.build_server()}, env=_keyless(tmp_path), cwd=tmp_path
    )
    with pytest.raises(ConfigError, match=r"^resources: expected a string, got 3$"):
        await agent.run("x", resources=[3])
