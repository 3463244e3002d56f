"""``agent query`` as the original guide's shell loops use it: stdout is the answer, nothing else."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.cli_helpers import AGENT, agent_env
from tests.loopback import ScriptedOpenRouter, Step, call, error, reply

LOOP = 'for m in a b c; do echo "== $m"; agent query "What is 2+2?" --provider openrouter --model $m; done'


def shell(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``bash -c SCRIPT`` with the installed ``agent`` on the PATH, as a user's shell has it."""
    env = env | {"PATH": f"{os.path.dirname(AGENT)}{os.pathsep}{env['PATH']}"}
    return subprocess.run(
        ["bash", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def with_configured_calculator(home: Path) -> None:
    """An MCP config like the one ``agent init`` writes, so every query has a tool to call."""
    config = home / "agent-config"
    config.mkdir(parents=True)
    entry = {"command": "${AGENT_PYTHON}", "args": ["-P", "-m", "servers.calc"]}
    (config / "mcp.json").write_text(json.dumps({"mcpServers": {"calculator": entry}}))


def calculate_then_answer(request: dict[str, Any]) -> Step:
    """Each model narrates, calls the calculator, then answers with its result."""
    results = [m["content"] for m in request["messages"] if m["role"] == "tool"]
    if results:
        return reply(results[-1].strip())
    return reply("Let me calculate that.", call("evaluate", {"expression": "2+2"}))


def test_the_guides_query_loop_prints_each_answer_and_nothing_else(tmp_path: Path) -> None:
    with_configured_calculator(tmp_path)
    with ScriptedOpenRouter(behaviours={None: calculate_then_answer}) as server:
        done = shell(LOOP, agent_env(server.base_url, tmp_path), tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "== a\n4\n== b\n4\n== c\n4\n"
    assert [body["model"] for body in server.chat_bodies] == ["a", "a", "b", "b", "c", "c"]
    assert all(body["tools"] for body in server.chat_bodies)  # the configured server was attached
    server.assert_clean()


def test_in_the_loop_a_failing_model_is_one_line_on_stderr_and_the_loop_goes_on(tmp_path: Path) -> None:
    broken = error(400, "b is not a valid model ID")
    with ScriptedOpenRouter(behaviours={None: lambda _: reply("4")}, models={"b": [broken]}) as server:
        done = shell(LOOP.replace("a b c", "b c"), agent_env(server.base_url, tmp_path), tmp_path)
    assert done.stdout == "== b\n== c\n4\n"
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ") and "b is not a valid model ID" in line
