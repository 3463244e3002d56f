"""Tool policy and approval end to end: the real CLI (and ``Agent``), the loopback OpenRouter, and
real MCP servers (the bundled fs with writes allowed, and a fixture with every kind of annotation).

Every refused call must reach the model as an error result saying who refused it and why, and
the run must go on to the model's answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from agent import Agent
from agent.events import ApprovalAnswered, Event, ToolApproval, ToolApprovalRequest
from tests.integration.cli_helpers import Completed, agent_env, answering, at_a_terminal, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, reply

POLICY_SERVER = str(Path(__file__).parents[1] / "fixtures" / "mcp_policy_server.py")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A working directory with a note, an MCP config (fs with writes, the policy fixture)."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("ship it\n")
    write_config(tmp_path)
    return work


def write_config(tmp_path: Path, **extra: dict[str, Any]) -> Path:
    """``files``: fs on the working directory with writes; ``fx``: the policy fixture; plus ``extra``."""
    entries: dict[str, Any] = {
        "files": {
            "command": sys.executable,
            "args": ["-P", "-m", "servers.fs", str(tmp_path / "work"), "--allow-writes"],
        },
        "fx": {"command": sys.executable, "args": [POLICY_SERVER, str(tmp_path / "ran.log")]},
    }
    for name, fields in extra.items():
        entries[name] = {**entries[name], **fields}
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": entries}))
    return path


def ran(tmp_path: Path) -> list[str]:
    """The fixture's calls that really ran."""
    log = tmp_path / "ran.log"
    return log.read_text().splitlines() if log.exists() else []


def answer_with_results(request: dict[str, Any]) -> Any:
    results = [m["content"] for m in request["messages"] if m["role"] == "tool"]
    return reply("results: " + " | ".join(str(r) for r in results))


def run(
    server: ScriptedOpenRouter, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> Completed:
    return run_agent_cli(
        "run",
        "go",
        "-m",
        "test/model",
        "--mcp-config",
        str(tmp_path / "mcp.json"),
        "--json",
        *args,
        env=env or agent_env(server.base_url, tmp_path),
        cwd=tmp_path / "work",
    )


def calls_of(done: Completed) -> list[tuple[str, str, bool, str]]:
    return [(c["server"], c["tool"], c["is_error"], c["output"]) for c in done.json()["tool_calls"]]


WRITE = call("write_file", {"path": "out.txt", "content": "hello"})
NOT_AT_A_TERMINAL = "not at a terminal (--yes or --approve-with CMD approves it)"
DESTRUCTIVE = "it may change or delete data (not annotated read-only or non-destructive)"


def refused_unasked(name: str, why: str = DESTRUCTIVE) -> str:
    return (
        f"Not run: this call of '{name}' was denied by policy: it needs approval, as {why}, "
        f"and none was given: {NOT_AT_A_TERMINAL}."
    )


# -- rules -----------------------------------------------------------------------------------


def test_read_only_tools_run_unasked_and_allowed_ones_only(work: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(
            None,
            call("read_file", {"path": "notes.txt"}),
            call("look"),
            call("search_files", {"pattern": "*"}),
        ),
        answer_with_results,
    ) as server:
        done = run(server, tmp_path, "--allow", "files.read_*", "--allow", "fx.*")
    assert done.code == 0, done.stderr
    assert calls_of(done) == [
        ("files", "read_file", False, "ship it\n"),
        ("fx", "look", False, "ran look"),
        (
            "files",
            "search_files",
            True,
            "Not run: tool 'search_files' is denied by policy: "
            "--allow does not match it (files.read_*, fx.*). Do without it.",
        ),
    ]
    assert done.json()["stop_reason"] == "completed"
    assert "  ⊘ files.search_files refused by policy: --allow does not match it (files.read_*, fx.*)" in (
        done.stderr.splitlines()
    )
    # refused tools are still offered: the model learns why when it calls one
    assert "search_files" in {t["function"]["name"] for t in server.chat_bodies[0]["tools"]}
    server.assert_clean()


def test_deny_refuses_a_tool_even_with_yes_and_the_model_is_told(work: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(None, WRITE), answer_with_results) as server:
        done = run(server, tmp_path, "--deny", "*.write_*", "--yes")
    assert done.code == 0, done.stderr
    refusal = "Not run: tool 'write_file' is denied by policy: --deny *.write_* matches it. Do without it."
    assert calls_of(done) == [("files", "write_file", True, refusal)]
    assert done.json()["output"] == f"results: {refusal}"
    assert not (work / "out.txt").exists()
    assert "  ⊘ files.write_file refused by policy: --deny *.write_* matches it" in done.stderr.splitlines()


def test_a_server_entry_deny_list_refuses_its_tools(work: Path, tmp_path: Path) -> None:
    write_config(tmp_path, files={"deny": ["write_*", "edit_*"]}, fx={"allow": ["look"]})
    with ScriptedOpenRouter(
        reply(None, WRITE, call("look"), call("plain", {"text": "x"})), answer_with_results
    ) as server:
        done = run(server, tmp_path, "--yes")
    assert done.code == 0, done.stderr
    assert calls_of(done) == [
        (
            "files",
            "write_file",
            True,
            "Not run: tool 'write_file' is denied by policy: mcpServers.files.deny matches it (write_*). "
            "Do without it.",
        ),
        ("fx", "look", False, "ran look"),
        (
            "fx",
            "plain",
            True,
            "Not run: tool 'plain' is denied by policy: mcpServers.fx.allow does not match it (look). "
            "Do without it.",
        ),
    ]
    assert ran(tmp_path) == ["look"]


def test_denied_tools_are_still_listed_by_agent_tools(work: Path, tmp_path: Path) -> None:
    write_config(tmp_path, files={"deny": ["write_*"]})
    done = run_agent_cli(
        "tools", "--json", "--mcp-config", str(tmp_path / "mcp.json"), env=agent_env(None, tmp_path), cwd=work
    )
    assert done.code == 0, done.stderr
    assert "write_file" in {t["name"] for t in json.loads(done.stdout)}


def test_a_malformed_glob_in_a_flag_or_an_entry_is_one_line_and_exit_2(work: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        flag = run(server, tmp_path, "--deny", "write_file")
        write_config(tmp_path, files={"deny": [""]})
        entry = run(server, tmp_path)
    assert (flag.code, entry.code) == (2, 2)
    assert (
        "error: --deny: expected a SERVER.TOOL glob such as fs.* or *.write_file, got 'write_file'"
        in flag.stderr
    )
    assert (
        f"{tmp_path / 'mcp.json'}: mcpServers.files.deny[0]: expected a non-empty glob, got ''"
        in entry.stderr
    )
    assert server.chat_bodies == []


# -- approval, not at a terminal ------------------------------------------------------------


def test_a_destructive_call_is_refused_when_no_one_can_be_asked_and_the_run_goes_on(
    work: Path, tmp_path: Path
) -> None:
    with ScriptedOpenRouter(
        reply(None, WRITE, call("plain", {"text": "a"}), call("append_note", {"text": "b"})),
        answer_with_results,
    ) as server:
        done = run(server, tmp_path)
    assert done.code == 0, done.stderr
    assert calls_of(done) == [
        ("files", "write_file", True, refused_unasked("write_file")),
        ("fx", "plain", True, refused_unasked("plain")),  # no annotations: destructive by default
        ("fx", "append_note", False, "ran append_note b"),  # additive: not asked by default
    ]
    assert not (work / "out.txt").exists()
    assert ran(tmp_path) == ["append_note b"]
    result = done.json()
    assert result["stop_reason"] == "completed" and result["output"].startswith("results: Not run:")
    assert f"  ⊘ files.write_file refused by policy: {NOT_AT_A_TERMINAL}" in done.stderr.splitlines()


def test_yes_approves_calls_that_need_approval(work: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply(None, WRITE, call("drop_note", {"text": "a"})), reply("done")) as server:
        done = run(server, tmp_path, "-y")
    assert done.code == 0, done.stderr
    assert [(tool, error) for _, tool, error, _ in calls_of(done)] == [
        ("write_file", False),
        ("drop_note", False),
    ]
    assert (work / "out.txt").read_text() == "hello"
    assert ran(tmp_path) == ["drop_note a"]


def test_approval_strict_asks_before_every_tool_not_annotated_read_only(work: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("append_note", {"text": "a"}), call("look")), answer_with_results
    ) as server:
        done = run(server, tmp_path, "--approval", "strict")
    assert done.code == 0, done.stderr
    assert calls_of(done) == [
        (
            "fx",
            "append_note",
            True,
            refused_unasked("append_note", "it is not annotated read-only (--approval strict)"),
        ),
        ("fx", "look", False, "ran look"),
    ]


def test_approval_off_runs_destructive_tools_unasked_but_deny_still_holds(work: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("drop_note", {"text": "a"}), call("plain", {"text": "b"}), WRITE),
        answer_with_results,
    ) as server:
        done = run(server, tmp_path, "--approval", "off", "--deny", "files.*")
    assert done.code == 0, done.stderr
    assert [(tool, error) for _, tool, error, _ in calls_of(done)] == [
        ("drop_note", False),
        ("plain", False),
        ("write_file", True),
    ]
    assert ran(tmp_path) == ["drop_note a", "plain b"]


# -- the --approve-with hook -----------------------------------------------------------------


def hook(tmp_path: Path, body: str) -> str:
    """An executable Python hook script; returns the command line that runs it."""
    script = tmp_path / "hook.py"
    script.write_text(f"#!{sys.executable}\nimport json, sys\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_a_hook_approves_and_denies_each_call_from_the_json_it_reads(work: Path, tmp_path: Path) -> None:
    command = hook(
        tmp_path,
        "request = json.load(sys.stdin)\n"
        "with open(sys.argv[1], 'a') as f: f.write(json.dumps(request) + '\\n')\n"
        "if request['tool'] == 'write_file': print('allow')\n"
        "else:\n"
        "    reason = 'no dropping ' + request['arguments']['text']\n"
        "    print(json.dumps({'decision': 'deny', 'reason': reason}))",
    )
    seen = tmp_path / "seen.jsonl"
    with ScriptedOpenRouter(
        reply(None, WRITE, call("drop_note", {"text": "x"})), answer_with_results
    ) as server:
        done = run(server, tmp_path, "--approve-with", f"{command} {seen}")
    assert done.code == 0, done.stderr
    assert calls_of(done)[0][:3] == ("files", "write_file", False)
    assert calls_of(done)[1] == (
        "fx",
        "drop_note",
        True,
        "Not run: the approval hook denied this call of 'drop_note': no dropping x.",
    )
    assert (work / "out.txt").read_text() == "hello" and ran(tmp_path) == []
    requests = [json.loads(line) for line in seen.read_text().splitlines()]  # calls to two servers overlap
    assert sorted(r["tool"] for r in requests) == ["drop_note", "write_file"]
    assert next(r for r in requests if r["tool"] == "drop_note") == {
        "call_id": done.json()["tool_calls"][1]["id"],
        "server": "fx",
        "tool": "drop_note",
        "arguments": {"text": "x"},
        "annotations": {"read_only_hint": False, "destructive_hint": True},
        "read_only": False,
        "destructive": True,
        "reason": DESTRUCTIVE,
    }
    assert "  ⊘ fx.drop_note refused by the approval hook: no dropping x" in done.stderr.splitlines()


def test_a_broken_hook_denies_with_the_reason(work: Path, tmp_path: Path) -> None:
    command = hook(tmp_path, "sys.stderr.write('cannot reach the policy service\\n')\nsys.exit(2)")
    with ScriptedOpenRouter(reply(None, WRITE), answer_with_results) as server:
        broken = run(server, tmp_path, "--approve-with", command)
    assert broken.code == 0, broken.stderr
    assert not (work / "out.txt").exists()
    assert calls_of(broken) == [
        (
            "files",
            "write_file",
            True,
            "Not run: the approval hook denied this call of 'write_file': "
            "the approval hook exited with status 2: cannot reach the policy service.",
        )
    ]


def test_a_hook_that_does_not_exist_or_comes_with_yes_stops_before_anything_starts(
    work: Path, tmp_path: Path
) -> None:
    with ScriptedOpenRouter() as server:
        missing = run(server, tmp_path, "--approve-with", "no-such-approver --strict")
        both = run(server, tmp_path, "--approve-with", sys.executable, "--yes")
    assert missing.code == both.code == 2
    assert "error: --approve-with: command not found: no-such-approver" in missing.stderr
    assert "error: --approve-with: give one of --yes and --approve-with, not both" in both.stderr
    assert server.chat_bodies == []


def test_events_say_who_approved_or_refused_each_call(work: Path, tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("drop_note", {"text": "a"}), call("plain", {"text": "b"})), reply("ok")
    ) as server:
        done = run_agent_cli(
            "run",
            "go",
            "-m",
            "test/model",
            "--mcp-config",
            str(tmp_path / "mcp.json"),
            "--events",
            "--yes",
            "--deny",
            "fx.plain",
            env=agent_env(server.base_url, tmp_path),
            cwd=work,
        )
    assert done.code == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    approvals = [
        {k: v for k, v in line.items() if k not in ("seq", "ts")}
        for line in lines
        if line["type"].startswith("approval_")
    ]
    drop_id, plain_id = (c["id"] for c in lines[-1]["result"]["tool_calls"])
    assert approvals[0]["type"] == "approval_requested"
    assert approvals[0]["request"]["call_id"] == drop_id
    assert approvals[1:] == [
        {
            "type": "approval_answered",
            "call_id": drop_id,
            "server": "fx",
            "tool": "drop_note",
            "decision": "allow",
            "by": "flag",
            "scope": "once",
            "reason": None,
        },
        {
            "type": "approval_answered",
            "call_id": plain_id,
            "server": "fx",
            "tool": "plain",
            "decision": "deny",
            "by": "policy",
            "scope": "once",
            "reason": "--deny fx.plain matches it",
        },
    ]


# -- at a terminal ---------------------------------------------------------------------------

QUESTION = b"[y/a/N]"


def run_at_a_terminal(
    args: list[str], env: dict[str, str], cwd: Path, answers: list[bytes]
) -> tuple[int, str, str]:
    """Run ``agent`` with stdin and stderr on a pseudo-terminal, answering each question in turn."""
    return at_a_terminal(args, env, cwd, answering(QUESTION, answers))


def three_drops() -> list[Any]:
    return [
        reply(None, call("drop_note", {"text": "1"})),
        reply(None, call("drop_note", {"text": "2"})),
        reply(None, call("drop_note", {"text": "3"})),
        answer_with_results,
    ]


@pytest.mark.parametrize(
    ("answers", "asked", "ran_calls"),
    [
        ([b"y\n", b"n\n", b"y\n"], 3, ["drop_note 1", "drop_note 3"]),
        ([b"a\n"], 1, ["drop_note 1", "drop_note 2", "drop_note 3"]),
        ([b"n\n", b"\n", b"no\n"], 3, []),
    ],
    ids=["once-each", "for-the-session", "deny"],
)
def test_at_a_terminal_the_user_approves_once_for_the_session_or_denies(
    work: Path, tmp_path: Path, answers: list[bytes], asked: int, ran_calls: list[str]
) -> None:
    with ScriptedOpenRouter(*three_drops()) as server:
        code, terminal, stdout = run_at_a_terminal(
            ["run", "go", "-m", "test/model", "--mcp-config", str(tmp_path / "mcp.json"), "--no-stream"],
            agent_env(server.base_url, tmp_path),
            work,
            answers,
        )
    assert code == 0, terminal
    assert terminal.count("Tool fx.drop_note needs your approval: " + DESTRUCTIVE) == asked
    assert '  arguments: {"text":"1"}' in terminal
    assert ran(tmp_path) == ran_calls
    assert stdout.startswith("results: ")
    if not ran_calls:
        assert "⊘ fx.drop_note refused by the user" in terminal
        assert "Not run: the user denied this call of 'drop_note'." in stdout


# -- the Python API --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_approve_tool_handler_answers_for_the_python_api(work: Path, tmp_path: Path) -> None:
    asked: list[ToolApprovalRequest] = []
    events: list[Event] = []

    async def approve(request: ToolApprovalRequest) -> ToolApproval:
        asked.append(request)
        if request.tool == "plain":
            return ToolApproval.deny("plain is not for today")
        return ToolApproval.session()

    with ScriptedOpenRouter(
        reply(None, call("drop_note", {"text": "1"}), call("plain", {"text": "2"})),
        answer_with_results,
        reply(None, call("drop_note", {"text": "3"})),
        answer_with_results,
    ) as server:
        async with Agent(
            model="test/model",
            mcp_config=tmp_path / "mcp.json",
            servers=["fx"],
            env=agent_env(server.base_url, tmp_path),
            cwd=work,
            approve_tool=approve,
            on_event=events.append,
        ) as agent:
            first = await agent.run("go")
            second = await agent.run("again")  # drop_note was allowed for the session: not asked
    assert [(r.tool, r.arguments) for r in asked] == [("drop_note", {"text": "1"}), ("plain", {"text": "2"})]
    assert [(c.tool, c.is_error) for c in first.tool_calls] == [("drop_note", False), ("plain", True)]
    assert (
        first.tool_calls[1].output == "Not run: the user denied this call of 'plain': plain is not for today."
    )
    assert [(c.tool, c.is_error) for c in second.tool_calls] == [("drop_note", False)]
    assert ran(tmp_path) == ["drop_note 1", "drop_note 3"]
    assert [(e.tool, e.decision, e.by, e.scope) for e in events if isinstance(e, ApprovalAnswered)] == [
        ("drop_note", "allow", "user", "session"),
        ("plain", "deny", "user", "once"),
        ("drop_note", "allow", "user", "session"),
    ]


@pytest.mark.anyio
async def test_without_a_handler_the_python_api_refuses_what_needs_approval(
    work: Path, tmp_path: Path
) -> None:
    with ScriptedOpenRouter(reply(None, call("drop_note", {"text": "1"})), answer_with_results) as server:
        async with Agent(
            model="test/model",
            mcp_config=tmp_path / "mcp.json",
            servers=["fx"],
            env=agent_env(server.base_url, tmp_path),
            cwd=work,
        ) as agent:
            result = await agent.run("go")
    assert result.stop_reason == "completed"
    assert result.tool_calls[0].output == (
        f"Not run: this call of 'drop_note' was denied by policy: it needs approval, as {DESTRUCTIVE}, "
        "and none was given: there is no one to ask (no approve_tool handler; yes=True or approve_with "
        "approves it)."
    )
    assert ran(tmp_path) == []
