"""The gate every tool call passes: rules, approval by flag, hook or handler, and the hook protocol.

The loop is the real one (``run_agent`` with a scripted model); hooks are real processes.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from agent.approval import ToolGate, ask_hook, hook_command, parse_hook_answer
from agent.cli.questions import TerminalQuestions
from agent.cli.render import HumanRenderer
from agent.errors import ConfigError
from agent.events import (
    ApprovalAnswered,
    ApprovalRequested,
    Event,
    ToolApproval,
    ToolApprovalRequest,
    ToolCallFinished,
    ToolCallStarted,
)
from agent.loop import run_agent
from agent.mcp.client_features import Refused
from agent.messages import ToolMessage
from agent.policy import ToolPolicy
from agent.testing import ScriptedChatModel, StaticToolset, call, reply
from agent.tools import ToolInfo, ToolOutcome

pytestmark = pytest.mark.anyio

NOTE = {"type": "object", "properties": {"text": {"type": "string"}}}


class Notes:
    """A toolset whose ``erase`` is destructive (as an MCP tool without hints is) and ``read`` read-only."""

    def __init__(self) -> None:
        self.erased: list[str] = []
        static = StaticToolset("notes")
        static.add("erase", self.erase, schema=NOTE).add("read", lambda: "all notes", read_only=True)
        self._static = static
        erase, read = static.tools()
        self._tools = [dataclasses.replace(erase, destructive=True), read]

    def erase(self, text: str) -> str:
        self.erased.append(text)
        return f"erased {text}"

    def tools(self) -> Sequence[ToolInfo]:
        return self._tools

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        return await self._static.call(server, tool, arguments)


class Approver:
    """An ``approve_tool`` handler answering from a list, recording what it was asked."""

    def __init__(self, *answers: ToolApproval | bool | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[ToolApprovalRequest] = []

    async def __call__(self, request: ToolApprovalRequest) -> ToolApproval | bool:
        self.asked.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def run_turns(
    gate: ToolGate, *turns: list[Any], notes: Notes | None = None
) -> tuple[list[str], list[Event]]:
    """Run one turn per list of calls, then an answer; the tool results the model got, and the events."""
    events: list[Event] = []
    model = ScriptedChatModel([*(reply(None, *calls) for calls in turns), reply("done")])
    result = await run_agent(model, notes or Notes(), "go", on_event=events.append, gate=gate)
    assert result.stop_reason == "completed", result.error
    model.assert_consumed()
    results = [m.content for m in model.requests[-1].messages if isinstance(m, ToolMessage)]
    return results, events


def approvals(events: list[Event]) -> list[tuple[str, str, str, str | None]]:
    return [(e.decision, e.by, e.scope, e.reason) for e in events if isinstance(e, ApprovalAnswered)]


async def test_a_call_the_rules_deny_never_runs_and_the_model_is_told_why() -> None:
    notes = Notes()
    gate = ToolGate(ToolPolicy(deny=("notes.erase",)), yes=True)
    results, events = await run_turns(gate, [call("erase", {"text": "a"}), call("read")], notes=notes)
    assert results == [
        "Not run: tool 'erase' is denied by policy: --deny notes.erase matches it. Do without it.",
        "all notes",
    ]
    assert notes.erased == []
    assert approvals(events) == [("deny", "policy", "once", "--deny notes.erase matches it")]
    assert not any(isinstance(e, ApprovalRequested) for e in events)  # refused before anyone is asked


async def test_a_destructive_call_is_asked_about_first_and_read_only_ones_are_not() -> None:
    notes = Notes()
    approver = Approver(True)
    results, events = await run_turns(
        ToolGate(ToolPolicy(), approver=approver),
        [call("read"), call("erase", {"text": "a"}, id="c1")],
        notes=notes,
    )
    assert results == ["all notes", "erased a"]
    assert [(r.call_id, r.server, r.tool, r.arguments, r.destructive) for r in approver.asked] == [
        ("c1", "notes", "erase", {"text": "a"}, True)
    ]
    kinds = [
        type(e).__name__
        for e in events
        if isinstance(e, ApprovalRequested | ApprovalAnswered | ToolCallStarted | ToolCallFinished)
    ]
    assert kinds[-4:] == ["ApprovalRequested", "ApprovalAnswered", "ToolCallStarted", "ToolCallFinished"]
    assert approvals(events) == [("allow", "user", "once", None)]


async def test_the_user_approves_once_for_the_session_or_denies() -> None:
    notes = Notes()
    approver = Approver(ToolApproval.once(), ToolApproval.deny("not that one"), ToolApproval.session())
    approved: set[tuple[str, str]] = set()
    gate = ToolGate(ToolPolicy(), approver=approver, approved=approved)
    results, events = await run_turns(
        gate,
        [call("erase", {"text": "1"})],
        [call("erase", {"text": "2"})],
        [call("erase", {"text": "3"})],
        [call("erase", {"text": "4"})],
        notes=notes,
    )
    assert results == [
        "erased 1",
        "Not run: the user denied this call of 'erase': not that one.",
        "erased 3",
        "erased 4",
    ]
    assert notes.erased == ["1", "3", "4"]
    assert len(approver.asked) == 3  # the fourth call was allowed for the session
    assert approved == {("notes", "erase")}
    assert approvals(events) == [
        ("allow", "user", "once", None),
        ("deny", "user", "once", "not that one"),
        ("allow", "user", "session", None),
        ("allow", "user", "session", None),
    ]


async def test_runs_waiting_for_an_answer_about_a_tool_are_settled_by_one_session_approval() -> None:
    # Two runs of one agent share its gate: the second asks while the first is being answered.
    both_asked = anyio.Event()
    requested: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, ApprovalRequested):
            requested.append(event.request.call_id)
            if len(requested) == 2:
                both_asked.set()

    async def approver(request: ToolApprovalRequest) -> ToolApproval:
        asked.append(request.call_id)
        await both_asked.wait()
        return ToolApproval.session()

    asked: list[str] = []
    notes = Notes()
    gate = ToolGate(ToolPolicy(), approver=approver)

    async def one(n: int) -> None:
        model = ScriptedChatModel([reply(None, call("erase", {"text": str(n)}, id=f"c{n}")), reply("done")])
        await run_agent(model, notes, "go", on_event=on_event, gate=gate)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(one, 1)
            tg.start_soon(one, 2)
    assert len(asked) == 1 and sorted(requested) == ["c1", "c2"]
    assert sorted(notes.erased) == ["1", "2"]


async def test_a_handler_that_fails_denies_the_call_and_the_run_goes_on() -> None:
    results, events = await run_turns(
        ToolGate(ToolPolicy(), approver=Approver(RuntimeError("boom"))), [call("erase", {"text": "a"})]
    )
    assert results[0].endswith("and none was given: the approve_tool handler failed: RuntimeError: boom.")
    assert approvals(events) == [
        ("deny", "policy", "once", "the approve_tool handler failed: RuntimeError: boom")
    ]


async def test_yes_approves_every_call_that_needs_approval_without_asking() -> None:
    approver = Approver()
    results, events = await run_turns(
        ToolGate(ToolPolicy(), yes=True, approver=approver), [call("erase", {"text": "a"})]
    )
    assert results == ["erased a"]
    assert approver.asked == []
    assert approvals(events) == [("allow", "flag", "once", None)]


async def test_with_no_one_to_ask_a_call_that_needs_approval_is_denied_by_policy() -> None:
    results, events = await run_turns(ToolGate(ToolPolicy()), [call("erase", {"text": "a"})])
    reason = "there is no one to ask (no approve_tool handler; yes=True or approve_with approves it)"
    assert results == [
        "Not run: this call of 'erase' was denied by policy: it needs approval, as it may change or delete "
        f"data (not annotated read-only or non-destructive), and none was given: {reason}."
    ]
    assert approvals(events) == [("deny", "policy", "once", reason)]


async def test_a_handler_that_cannot_ask_refuses_for_the_policy_with_its_reason() -> None:
    approver = Approver(Refused("not at a terminal"))
    results, events = await run_turns(
        ToolGate(ToolPolicy(approval="strict"), approver=approver), [call("read")]
    )
    assert results == ["all notes"]  # read-only: not asked even when strict
    results, events = await run_turns(
        ToolGate(ToolPolicy(approval="strict"), approver=approver), [call("erase", {"text": "x"})]
    )
    assert results[0].endswith("and none was given: not at a terminal.")
    assert approvals(events) == [("deny", "policy", "once", "not at a terminal")]


async def test_approval_off_runs_everything_the_rules_allow_unasked() -> None:
    approver = Approver()
    results, events = await run_turns(
        ToolGate(ToolPolicy(approval="off"), approver=approver), [call("erase", {"text": "a"})]
    )
    assert (results, approver.asked, approvals(events)) == (["erased a"], [], [])


# -- the hook ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "answer"),
    [
        ("allow\n", ToolApproval.once()),
        ("\n  ALLOW  \nwhatever follows\n", ToolApproval.once()),
        ("deny", ToolApproval.deny()),
        ('{"decision": "allow"}', ToolApproval.once()),
        (
            '{\n  "decision": "deny",\n  "reason": "no writes\\non Fridays"\n}',
            ToolApproval.deny("no writes on Fridays"),
        ),
        ('{"decision": "deny", "reason": ""}', ToolApproval.deny()),
        ("", ToolApproval.deny("the approval hook answered nothing")),
        ("yes", ToolApproval.deny("the approval hook answered neither allow nor deny: yes")),
        ("allowed", ToolApproval.deny("the approval hook answered neither allow nor deny: allowed")),
        (
            '{"decision": "maybe"}',
            ToolApproval.deny('the approval hook answered neither allow nor deny: {"decision": "maybe"}'),
        ),
        (
            '{"decision": "allow"',
            ToolApproval.deny('the approval hook answered neither allow nor deny: {"decision": "allow"'),
        ),
    ],
)
def test_a_hook_answers_with_its_first_line_or_one_json_object_and_anything_else_denies(
    output: str, answer: ToolApproval
) -> None:
    assert parse_hook_answer(output) == answer


REQUEST = ToolApprovalRequest(
    call_id="call_7",
    server="fs",
    tool="write_file",
    arguments={"path": "a.txt", "content": "hi"},
    annotations={"read_only_hint": False, "destructive_hint": True},
    read_only=False,
    destructive=True,
    reason="it may change or delete data",
)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_the_hook_reads_the_call_as_json_on_stdin(tmp_path: Path) -> None:
    seen = tmp_path / "seen.json"
    code = f"import sys; open({str(seen)!r}, 'w').write(sys.stdin.read()); print('allow')"
    assert await ask_hook(python(code), REQUEST, cwd=tmp_path) == ToolApproval.once()
    assert json.loads(seen.read_text()) == {
        "call_id": "call_7",
        "server": "fs",
        "tool": "write_file",
        "arguments": {"path": "a.txt", "content": "hi"},
        "annotations": {"read_only_hint": False, "destructive_hint": True},
        "read_only": False,
        "destructive": True,
        "reason": "it may change or delete data",
    }


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (
            "import sys; print('allow'); sys.stderr.write('first\\nbad things\\n'); sys.exit(3)",
            "the approval hook exited with status 3: bad things",
        ),
        ("import sys; sys.exit(1)", "the approval hook exited with status 1"),
        ("import sys; sys.stdout.write('allow' + 'x' * 70000)", "the approval hook wrote more than 64 KiB"),
        (
            "import sys; sys.stdout.buffer.write(b'allow\\xff')",
            "the approval hook answered with bytes that are not UTF-8",
        ),
        ("import time; time.sleep(60)", "the approval hook did not answer within 0.5 s"),
        ("print('perhaps')", "the approval hook answered neither allow nor deny: perhaps"),
    ],
)
async def test_a_broken_hook_denies_with_the_reason(tmp_path: Path, code: str, reason: str) -> None:
    with anyio.fail_after(10):
        assert await ask_hook(python(code), REQUEST, cwd=tmp_path, timeout=0.5) == ToolApproval.deny(reason)


async def test_a_hook_that_ignores_its_stdin_still_answers(tmp_path: Path) -> None:
    big = REQUEST.model_copy(update={"arguments": {"content": "x" * 1_000_000}})
    assert await ask_hook(python("print('deny')"), big, cwd=tmp_path) == ToolApproval.deny()


async def test_a_hook_that_cannot_start_denies(tmp_path: Path) -> None:
    answer = await ask_hook([str(tmp_path / "missing-hook")], REQUEST, cwd=tmp_path)
    assert answer.decision == "deny"
    assert (answer.reason or "").startswith("the approval hook could not be started: ")


async def test_the_gate_asks_the_hook_before_the_handler_and_says_the_hook_decided(tmp_path: Path) -> None:
    approver = Approver()
    hook = python(
        "import json, sys; r = json.load(sys.stdin); "
        "print(json.dumps({'decision': 'deny', 'reason': 'no ' + r['tool']}))"
    )
    results, events = await run_turns(
        ToolGate(ToolPolicy(), hook=hook, approver=approver, cwd=tmp_path), [call("erase", {"text": "a"})]
    )
    assert results == ["Not run: the approval hook denied this call of 'erase': no erase."]
    assert approver.asked == []
    assert approvals(events) == [("deny", "hook", "once", "no erase")]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("", "--approve-with: expected a command line, got an empty one"),
        ("'unclosed", "--approve-with: cannot parse the command line: No closing quotation"),
        ("no-such-hook-command --flag", "--approve-with: command not found: no-such-hook-command"),
        ("./hook.sh", "--approve-with: command not found: ./hook.sh"),
    ],
)
def test_a_hook_command_that_cannot_run_is_a_config_error_before_anything_starts(
    tmp_path: Path, command: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        hook_command(command, tmp_path)
    assert str(caught.value) == message


def test_a_hook_command_is_split_like_a_shell_would_but_not_run_by_one(tmp_path: Path) -> None:
    script = tmp_path / "my hook"
    script.write_text("#!/bin/sh\necho allow\n")
    script.chmod(0o755)
    assert hook_command(f"'{script}' --strict 'a b' $HOME", tmp_path) == [
        str(script),
        "--strict",
        "a b",
        "$HOME",
    ]


# -- at the terminal -------------------------------------------------------------------------


def refusal(by: str, reason: str | None, decision: str = "deny", scope: str = "once") -> ApprovalAnswered:
    return ApprovalAnswered(
        call_id="c1", server="fs", tool="write_file", decision=decision, by=by, scope=scope, reason=reason
    )


@pytest.mark.parametrize(
    ("event", "quiet", "verbose"),
    [
        (
            refusal("policy", "--deny fs.* matches it"),
            ["  ⊘ fs.write_file refused by policy: --deny fs.* matches it"],
            ["  ⊘ fs.write_file refused by policy: --deny fs.* matches it"],
        ),
        (
            refusal("user", None),
            ["  ⊘ fs.write_file refused by the user"],
            ["  ⊘ fs.write_file refused by the user"],
        ),
        (
            refusal("hook", "exited with status 1"),
            ["  ⊘ fs.write_file refused by the approval hook: exited with status 1"],
            ["  ⊘ fs.write_file refused by the approval hook: exited with status 1"],
        ),
        (refusal("flag", None, "allow"), [], ["· fs.write_file approved by --yes"]),
        (
            refusal("user", None, "allow", "session"),
            [],
            ["· fs.write_file approved by the user for this session"],
        ),
    ],
)
def test_a_refused_call_is_one_line_and_approvals_are_shown_with_verbose(
    event: ApprovalAnswered, quiet: list[str], verbose: list[str]
) -> None:
    for flag, expected in ((False, quiet), (True, verbose)):
        out, err = io.StringIO(), io.StringIO()
        HumanRenderer(out, err, verbose=flag)(event)
        assert (out.getvalue(), err.getvalue().splitlines()) == ("", expected)


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("y\n", ToolApproval.once()),
        ("YES\n", ToolApproval.once()),
        ("a\n", ToolApproval.session()),
        ("always\n", ToolApproval.session()),
        ("n\n", ToolApproval.deny()),
        ("\n", ToolApproval.deny()),
        ("sure\n", ToolApproval.deny()),
        ("", ToolApproval.deny()),  # end of input
    ],
)
async def test_at_a_terminal_the_user_allows_a_call_once_for_the_session_or_not(
    typed: str, answer: ToolApproval
) -> None:
    err = io.StringIO()
    questions = TerminalQuestions(
        HumanRenderer(io.StringIO(), err), io.StringIO(typed), err, interactive=True
    )
    assert await questions.approve_tool(REQUEST) == answer
    assert err.getvalue().splitlines()[:2] == [
        "Tool fs.write_file needs your approval: it may change or delete data",
        '  arguments: {"path":"a.txt","content":"hi"}',
    ]
    assert "Run it? y: this once, a: always (this session), n: no [y/a/N] " in err.getvalue()


async def test_not_at_a_terminal_no_one_is_asked_and_the_reason_names_the_flags() -> None:
    questions = TerminalQuestions(
        HumanRenderer(io.StringIO(), io.StringIO()), io.StringIO("y\n"), io.StringIO(), interactive=False
    )
    with pytest.raises(Refused, match=r"not at a terminal \(--yes or --approve-with CMD approves it\)"):
        await questions.approve_tool(REQUEST)
