"""``agent run --resource SERVER:URI`` and ``--prompt SERVER:NAME --arg K=V`` against a real stdio
server and the loopback OpenRouter: what the model is sent, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from tests.fixtures.mcp_library_server import README
from tests.integration.cli_helpers import Completed, agent_env, run_agent_cli
from tests.integration.test_cli_inventory import mcp_config
from tests.loopback import ScriptedOpenRouter, Step, reply


def conversation(request: dict[str, Any]) -> Step:
    """Answer with the conversation the model was sent, as JSON."""
    return reply(json.dumps([[m["role"], m["content"]] for m in request["messages"]]))


def run_library(tmp_path: Path, *args: str, steps: int = 1) -> tuple[Completed, list[Any]]:
    """``agent run ARGS -s library --json``; the exit, and the messages of every model request."""
    with ScriptedOpenRouter(*[conversation] * steps) as server:
        done = run_agent_cli(
            "run",
            *args,
            "--mcp-config",
            str(mcp_config(tmp_path)),
            "-s",
            "library",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    return done, [body["messages"] for body in server.chat_bodies]


def readme_block() -> str:
    label = 'server="library" uri="library://notes/readme" mime_type="text/plain"'
    return f"<resource {label}>\n{README}\n</resource>"


def test_resources_are_labelled_user_messages_before_the_prompt(tmp_path: Path) -> None:
    done, [messages] = run_library(
        tmp_path,
        "When does it open?",
        "--system",
        "Be brief.",
        "--resource",
        "library:library://notes/readme",
        "--resource",
        "library:library://images/cover",
    )
    assert done.code == 0, done.stderr
    assert messages == [
        {  # the default model is Anthropic's: its system prompt is a cache breakpoint
            "role": "system",
            "content": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        },
        {"role": "user", "content": readme_block()},
        {
            "role": "user",
            "content": '<resource server="library" uri="library://images/cover" mime_type="image/png">'
            "[image/png, 4.0 KiB; not shown]</resource>",
        },
        {"role": "user", "content": "When does it open?"},
    ]


def test_a_server_prompt_is_the_task_when_no_prompt_is_given(tmp_path: Path) -> None:
    done, [messages] = run_library(tmp_path, "--prompt", "library:review", "--arg", "title=Dune")
    assert done.code == 0, done.stderr
    assert messages == [{"role": "user", "content": "Write a friendly review of Dune."}]
    assert json.loads(done.json()["output"]) == [["user", "Write a friendly review of Dune."]]


def test_a_prompt_given_follows_the_server_prompts_messages(tmp_path: Path) -> None:
    done, [messages] = run_library(
        tmp_path,
        "And what is missing?",
        "--resource",
        "library:library://notes/readme",
        "--prompt",
        "library:recap",
        "--arg",
        "topic=owls",
    )
    assert done.code == 0, done.stderr
    assert messages == [
        {"role": "user", "content": readme_block()},
        {"role": "user", "content": "What do we know about owls?"},
        {"role": "assistant", "content": "owls is well documented."},
        {"role": "user", "content": "And what is missing?"},
    ]


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (
            ["x", "--resource", "library:library://nope"],
            2,
            "error: MCP server 'library' has no resource 'library://nope' (Unknown resource: library://nope)",
        ),
        (
            ["x", "--resource", "nosuch:library://notes/readme"],
            2,
            "error: no MCP server 'nosuch' is attached (attached: library)",
        ),
        (["x", "--resource", "readme"], 2, "error: --resource: expected SERVER:URI, got 'readme'"),
        (
            ["--prompt", "library:nope"],
            2,
            "error: MCP server 'library' has no prompt 'nope' (its prompts: review, recap, notes)",
        ),
        (
            ["--prompt", "library:review"],
            2,
            "error: prompt 'review' of MCP server 'library' needs the argument title (give --arg NAME=VALUE)",
        ),
        (
            ["--prompt", "library:review", "--arg", "title"],
            2,
            "error: --arg: expected NAME=VALUE, got 'title'",
        ),
        (
            ["--prompt", "library:recap", "--arg", "topic=owls"],
            2,
            "error: PROMPT: the prompt library:recap does not end with a user message; "
            "give PROMPT to say what to do next",
        ),
        ([], 2, "error: agent run: Missing argument 'prompt'. Give the task, '-' to read it from stdin"),
    ],
)
def test_a_resource_or_prompt_that_cannot_be_used_is_one_line_and_no_model_request(
    args: list[str], code: int, line: str, tmp_path: Path
) -> None:
    done, requests = run_library(tmp_path, *args, steps=0)
    assert done.code == code
    assert done.stderr.splitlines()[-1].startswith(line)
    assert "Traceback" not in done.stderr
    assert requests == []
    assert done.json()["stop_reason"] == "error"


def test_a_resource_of_a_server_that_did_not_start_fails_the_run_with_exit_1(tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        done = run_agent_cli(
            "run",
            "x",
            "--mcp-config",
            str(mcp_config(tmp_path)),
            "--resource",
            "broken:library://notes/readme",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 1
    assert done.stderr.splitlines()[-1] == (
        "error: MCP server 'broken': did not start: the server exited during start-up"
    )
    assert server.chat_bodies == []


@pytest.mark.anyio
async def test_the_agent_api_takes_resources_and_a_server_prompt_per_run(tmp_path: Path) -> None:
    with ScriptedOpenRouter(conversation, conversation) as server:
        async with Agent(
            model="test/model",
            mcp_config=mcp_config(tmp_path),
            servers=["library"],
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        ) as agent:
            first = await agent.run(server_prompt="library:review", prompt_args={"title": "Dune"})
            second = await agent.run("Summarise.", resources=["library:library://notes/readme"])
        server.assert_clean()
    assert json.loads(first.output) == [["user", "Write a friendly review of Dune."]]
    assert json.loads(second.output) == [["user", readme_block()], ["user", "Summarise."]]
