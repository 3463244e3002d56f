"""The session store and carrying a session on, without a run: ids, prefixes, repair, usage."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agent.errors import ConfigError
from agent.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from agent.sessions.recorder import message_record
from agent.sessions.resume import UNFINISHED, choose_session, restore_history
from agent.sessions.store import SessionStore, StoredMessage


def stored(*messages: object) -> list[StoredMessage]:
    return [StoredMessage(n, 1, message_record(m)) for n, m in enumerate(messages, 1)]  # type: ignore[arg-type]


def test_the_store_is_private_and_keeps_sessions_newest_first(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "data", secrets=["s3cr3t-value"])
    store.start_run("aaaa-1", 1, cwd="/w", model="m", servers=["fs"], title="first  task\n with s3cr3t-value")
    store.start_run("bbbb-2", 1, cwd="/x", model="m", servers=[], title="second")
    store.save("aaaa-1", 1, messages=['{"role": "user", "content": "key s3cr3t-value"}'])
    store.finish_run("aaaa-1", status="completed", model="m2", usage={"total_tokens": 5, "cost": 0.5})
    store.finish_run("aaaa-1", status="max_cost", model="m2", usage={"total_tokens": 1, "cost": None})
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    [first, second] = store.sessions()
    assert (first.id, first.status, first.model, first.title) == (
        "aaaa-1",
        "max_cost",
        "m2",
        "first task with [redacted]",
    )
    assert first.usage == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 6, "cost": 0.5}
    assert second.id == "bbbb-2"
    assert [s.id for s in store.sessions(cwd="/x")] == ["bbbb-2"]
    assert store.messages("aaaa-1")[0].message == {"role": "user", "content": "key [redacted]"}
    store.close()
    assert b"s3cr3t-value" not in store.path.read_bytes()


def test_a_session_is_found_by_the_start_of_its_id_only_when_that_is_unique(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    for sid in ("abc-1", "abd-2"):
        store.start_run(sid, 1, cwd="/w", model="m", servers=[], title="t")
    assert store.find("abc").id == "abc-1"
    with pytest.raises(ConfigError, match="names more than one session"):
        store.find("ab")
    with pytest.raises(ConfigError, match="no session '%'"):
        store.find("%")  # LIKE wildcards are literal
    assert choose_session(store, resume=None, cwd="/w").id == "abd-2"
    with pytest.raises(ConfigError, match="no earlier session in /elsewhere"):
        choose_session(store, resume=None, cwd="/elsewhere")


def test_calls_that_never_returned_get_an_error_result_in_their_place() -> None:
    calls = [ToolCall(id="c1", name="a", arguments="{}"), ToolCall(id="c2", name="b", arguments="{}")]
    history = restore_history(
        stored(
            UserMessage(content="go"),
            AssistantMessage(tool_calls=calls),
            ToolMessage(tool_call_id="c1", name="a", content="done"),
            UserMessage(content="and then"),
            AssistantMessage(tool_calls=[ToolCall(id="c3", name="a", arguments="{}")]),
        )
    )
    assert [(type(m).__name__, getattr(m, "tool_call_id", None)) for m in history] == [
        ("UserMessage", None),
        ("AssistantMessage", None),
        ("ToolMessage", "c1"),
        ("ToolMessage", "c2"),
        ("UserMessage", None),
        ("AssistantMessage", None),
        ("ToolMessage", "c3"),
    ]
    assert history[3] == ToolMessage(tool_call_id="c2", name="b", content=UNFINISHED, is_error=True)


def test_reasoning_details_and_call_ids_come_back_exactly() -> None:
    message = AssistantMessage(
        content="x",
        tool_calls=[ToolCall(id="call_Zx9", name="read", arguments='{"path": "a"}')],
        reasoning_details=[{"type": "reasoning.encrypted", "data": "opaque=="}],
    )
    [back, _result] = restore_history(
        stored(message, ToolMessage(tool_call_id="call_Zx9", name="read", content="ok"))
    )
    assert back == message


def test_a_message_the_runtime_did_not_write_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        restore_history([StoredMessage(1, 1, {"role": "wizard", "content": "?"})])
