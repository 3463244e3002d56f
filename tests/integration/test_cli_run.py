"""``agent run`` end to end: the real CLI, a loopback OpenRouter, real MCP server processes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import FIXTURE_SERVER, TEST_KEY, agent_env, run_agent_cli
from tests.loopback import (
    ScriptedOpenRouter,
    UsageReport,
    call,
    delayed,
    error,
    error_chunk,
    last_tool_result,
    reply,
)

FIXTURE = f"{sys.executable} {FIXTURE_SERVER}"
RESULT_KEYS = {
    "output",
    "data",
    "stop_reason",
    "model",
    "models_tried",
    "tool_protocol",
    "turns",
    "tool_calls",
    "usage",
    "usage_by_model",
    "generation_ids",
    "duration_ms",
    "error",
    "servers",
    "session_id",
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("The launch is on Tuesday.\n")
    (data / "todo.md").write_text("- ship it\n")
    return data


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


def test_run_uses_two_fs_tools_in_one_task_and_answers_from_their_results(
    workdir: Path, tmp_path: Path
) -> None:
    def answer(request: dict[str, Any]) -> Any:
        listing, notes = tool_results(request)
        return reply(
            f"Found {listing.count('.')} files; notes say: {notes.strip()}", usage=UsageReport(cost=0.002)
        )

    with ScriptedOpenRouter(
        reply(None, call("list_directory", {"path": "."}), call("read_file", {"path": "notes.txt"})),
        answer,
    ) as server:
        done = run_agent_cli(
            "run",
            "What do my notes say?",
            "--server",
            "fs",
            "--json",
            "-m",
            "test/model",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
            process=True,  # the installed executable, end to end
        )
    assert done.code == 0, done.stderr
    result = done.json()
    assert set(result) == RESULT_KEYS
    assert result["stop_reason"] == "completed"
    assert result["output"] == "Found 2 files; notes say: The launch is on Tuesday."
    assert (result["model"], result["models_tried"], result["tool_protocol"]) == (
        "test/model",
        ["test/model"],
        "native",
    )
    assert result["turns"] == 2
    assert [(c["server"], c["tool"], c["arguments"], c["is_error"]) for c in result["tool_calls"]] == [
        ("fs", "list_directory", {"path": "."}, False),
        ("fs", "read_file", {"path": "notes.txt"}, False),
    ]
    assert "notes.txt" in result["tool_calls"][0]["output"]
    assert result["tool_calls"][1]["output"].strip() == "The launch is on Tuesday."
    assert result["usage"]["cost"] == pytest.approx(0.003)
    assert result["error"] is None
    first, second = server.chat_bodies
    assert {tool["function"]["name"] for tool in first["tools"]} == {
        "list_allowed_directories",
        "list_directory",
        "read_file",
        "search_files",
        "file_info",
    }  # read-only: no write tools without --allow-writes
    assert second["tools"] == first["tools"]
    server.assert_clean()
    done.assert_no_key()


def test_streamed_run_prints_the_answer_on_stdout_and_tool_lines_on_stderr(
    workdir: Path, tmp_path: Path
) -> None:
    with ScriptedOpenRouter(
        reply(None, call("read_file", {"path": "todo.md"})),
        lambda request: reply(f"Your todo: {last_tool_result(request).strip()}"),
    ) as server:
        done = run_agent_cli(
            "run",
            "What is on my todo list?",
            "-s",
            "fs",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
        )
    assert done.code == 0, done.stderr
    assert done.stdout == "Your todo: - ship it\n"
    [line] = [line for line in done.stderr.splitlines() if "read_file" in line]
    assert line.startswith('  ✓ fs.read_file {"path":"todo.md"} (')
    assert all(body["stream"] is True for body in server.chat_bodies)
    server.assert_clean()


def test_no_stream_prints_the_whole_answer_once(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("Just text.")) as server:
        done = run_agent_cli(
            "run", "hi", "--no-stream", env=agent_env(server.base_url, tmp_path), cwd=workdir
        )
    assert (done.code, done.stdout) == (0, "Just text.\n")
    assert "stream" not in server.chat_bodies[0] or server.chat_bodies[0]["stream"] is False


def test_prompt_dash_reads_the_task_from_stdin(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(lambda request: reply(f"echo: {request['messages'][-1]['content']}")) as server:
        done = run_agent_cli(
            "run", "-", "--json", env=agent_env(server.base_url, tmp_path), cwd=workdir, stdin="from a pipe"
        )
    assert done.json()["output"] == "echo: from a pipe"


def test_a_refused_key_exits_4_and_never_shows_the_key(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(error(401, "User not found.")) as server:
        done = run_agent_cli("run", "hi", "--json", env=agent_env(server.base_url, tmp_path), cwd=workdir)
    assert done.code == 4
    result = done.json()
    assert result["stop_reason"] == "error"
    assert result["error"]["type"] == "AuthenticationError"
    assert "API key was refused" in result["error"]["message"]
    assert "User not found." in result["error"]["message"]
    assert done.stderr.splitlines() == [f"error: {result['error']['message']}"]
    done.assert_no_key()
    assert [r.headers["authorization"] for r in server.requests if r.method == "POST"] == [
        f"Bearer {TEST_KEY}"
    ]


def test_an_error_chunk_mid_stream_fails_the_run_with_exit_1(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        error_chunk(
            reply("partial "), code=502, message="Upstream went away", error_type="provider_unavailable"
        )
    ) as server:
        done = run_agent_cli(
            "run", "hi", "--json", "--retries", "0", env=agent_env(server.base_url, tmp_path), cwd=workdir
        )
    assert done.code == 1
    result = done.json()
    assert result["stop_reason"] == "error"
    assert "Upstream went away" in result["error"]["message"]
    assert result["output"] == ""


def test_an_unset_api_key_variable_exits_2_naming_file_and_field(workdir: Path, tmp_path: Path) -> None:
    env = agent_env("http://127.0.0.1:9/api/v1", tmp_path)
    del env["OPENROUTER_API_KEY"]
    done = run_agent_cli("run", "hi", env=env, cwd=workdir)
    assert done.code == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("error: ")
    assert "create a key at https://openrouter.ai/settings/keys" in line
    assert "providers/openrouter.yaml" in line
    assert "OPENROUTER_API_KEY" in line


def test_a_provider_file_with_an_unknown_field_exits_2_naming_it(workdir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "interface_type: openai_compatible\nprovider_name: openrouter\n"
        "config:\n  api_endpoint: http://127.0.0.1:9/api/v1\n  default_model: x/y\n  colour: blue\n"
    )
    done = run_agent_cli("run", "hi", "--config", str(bad), env=agent_env(None, tmp_path), cwd=workdir)
    assert done.code == 2
    [line] = done.stderr.splitlines()
    assert "bad.yaml: config.colour: " in line


def test_an_unknown_server_exits_2_with_one_line(workdir: Path, tmp_path: Path) -> None:
    done = run_agent_cli("run", "hi", "-s", "nosuch", "--json", env=agent_env(None, tmp_path), cwd=workdir)
    assert done.code == 2
    assert done.json()["error"]["type"] == "ConfigError"
    [line] = done.stderr.splitlines()
    assert line.startswith("error: --server: unknown server 'nosuch'")


def test_a_server_that_fails_to_start_is_reported_and_the_run_goes_on(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("no tools needed")) as server:
        done = run_agent_cli(
            "run",
            "hi",
            "--json",
            "-s",
            f"{FIXTURE} --fail-start",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
        )
    assert done.code == 0, done.stderr
    assert done.json()["output"] == "no tools needed"
    assert "warning: MCP server 'python" in done.stderr
    assert "exited during start-up" in done.stderr
    assert "  | fatal: cannot open database /nonexistent.db" in done.stderr.splitlines()
    assert "tools" not in server.chat_bodies[0]


def test_max_turns_stops_the_run_with_exit_3(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(*(reply(None, call("list_directory")) for _ in range(2))) as server:
        done = run_agent_cli(
            "run",
            "loop",
            "-s",
            "fs",
            "--max-turns",
            "2",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
        )
    assert done.code == 3
    result = done.json()
    assert (result["stop_reason"], result["turns"], len(result["tool_calls"])) == ("max_turns", 2, 2)
    server.assert_clean()


def test_the_run_timeout_stops_a_slow_model_with_exit_3(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(delayed(30, reply("too late"))) as server:
        done = run_agent_cli(
            "run", "hi", "--timeout", "0.5", "--json", env=agent_env(server.base_url, tmp_path), cwd=workdir
        )
    assert done.code == 3
    assert done.json()["stop_reason"] == "timeout"


def test_a_tool_exceeding_the_tool_timeout_becomes_an_error_result(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("sleep", {"seconds": 30})),
        lambda request: reply(f"tool said: {last_tool_result(request)}"),
    ) as server:
        done = run_agent_cli(
            "run",
            "nap",
            "-s",
            FIXTURE,
            "--approval",  # the fixture's tools say nothing, so they count as destructive
            "off",
            "--tool-timeout",
            "0.5",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
        )
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["tool_calls"][0]["is_error"] is True
    assert result["output"] == "tool said: Tool 'sleep' timed out after 0.5 s and was cancelled."


def test_unknown_tools_and_bad_arguments_reach_the_model_and_the_run_goes_on(
    workdir: Path, tmp_path: Path
) -> None:
    with ScriptedOpenRouter(
        reply(None, call("delete_everything", {}), call("read_file", '{"path": ')),
        lambda request: reply(" | ".join(tool_results(request))),
    ) as server:
        done = run_agent_cli(
            "run", "hi", "-s", "fs", "--json", env=agent_env(server.base_url, tmp_path), cwd=workdir
        )
    assert done.code == 0, done.stderr
    unknown, bad = done.json()["output"].split(" | ")
    assert unknown.startswith("Unknown tool 'delete_everything'. Available tools: ")
    assert "read_file" in unknown
    assert bad.startswith("Invalid arguments for tool 'read_file': ")
    server.assert_clean()


def test_query_answers_one_prompt_as_in_mcp_cli(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("42")) as server:
        done = run_agent_cli(
            "query",
            "meaning of life?",
            "--provider",
            "openrouter",
            "--model",
            "openai/gpt-4o-mini",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
        )
    assert (done.code, done.stdout) == (0, "42\n")
    assert server.chat_bodies[0]["model"] == "openai/gpt-4o-mini"


def test_requests_carry_attribution_headers_and_the_default_model(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("ok")) as server:
        run_agent_cli("run", "hi", env=agent_env(server.base_url, tmp_path), cwd=workdir)
    [headers] = [r.headers for r in server.requests if r.method == "POST"]
    assert headers["x-openrouter-title"] == "agent"
    assert headers["http-referer"]
    assert server.chat_bodies[0]["model"] == "~anthropic/claude-sonnet-latest"


def test_version_and_help_work_without_configuration(tmp_path: Path) -> None:
    version = run_agent_cli("--version", env=agent_env(None, tmp_path), cwd=tmp_path)
    assert version.code == 0 and version.stdout.startswith("agent ")
    help_text = run_agent_cli("run", "--help", env=agent_env(None, tmp_path), cwd=tmp_path)
    assert help_text.code == 0 and "--max-turns" in help_text.stdout


def test_strict_servers_makes_a_failed_start_fatal_with_exit_1(workdir: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        done = run_agent_cli(
            "run",
            "hi",
            "--json",
            "--strict-servers",
            "-s",
            f"{FIXTURE} --fail-start",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
        )
    assert done.code == 1
    result = done.json()
    assert result["error"]["type"] == "ServerStartError"
    assert result["error"]["message"].endswith("the server exited during start-up")
    assert server.chat_bodies == []


def test_max_tool_output_cuts_a_huge_result_with_a_notice_the_model_sees(
    workdir: Path, tmp_path: Path
) -> None:
    with ScriptedOpenRouter(
        reply(None, call("big", {"size": 50_000})),
        lambda request: reply(last_tool_result(request)[-300:]),
    ) as server:
        done = run_agent_cli(
            "run",
            "big",
            "-s",
            FIXTURE,
            "--approval",  # the fixture's tools say nothing, so they count as destructive
            "off",
            "--max-tool-output",
            "5000",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
        )
    assert done.code == 0, done.stderr
    sent = tool_results(server.chat_bodies[1])[0]
    assert len(sent) < 5_500
    assert "output truncated: 50,000 characters" in sent
    server.assert_clean()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["run", "--bogus", "x"], "error: agent run: No such option: --bogus"),
        (["run"], "error: agent run: Missing argument 'prompt'."),
        (["run", "hi", "--max-turns", "zero"], "error: agent run: Invalid value for '--max-turns'"),
        (["nosuch"], "error: agent: No such command 'nosuch'."),
        (
            ["run", "hi", "--tool-choice", "sometimes"],
            "error: --tool-choice: expected 'auto', 'required' or 'none', got 'sometimes'",
        ),
    ],
)
def test_a_bad_flag_is_one_line_naming_it_with_exit_2(args: list[str], line: str, tmp_path: Path) -> None:
    done = run_agent_cli(*args, env=agent_env(None, tmp_path), cwd=tmp_path)
    assert done.code == 2
    [only] = done.stderr.splitlines()
    assert only.startswith(line)
    assert "Traceback" not in done.stderr
