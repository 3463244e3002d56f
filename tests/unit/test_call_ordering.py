"""Calls of one turn to one server that may change it run one after another, in the model's order.

The evidence is the order of what the tool functions record, with anyio events making the
wrong order possible (a write waits for the reads): no sleeps, no timing.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import anyio
import pytest

from agent.call_order import lanes
from agent.events import Event, ToolCallFinished, ToolCallStarted
from agent.loop import MAX_CALLS_PER_TURN, run_agent
from agent.messages import ToolMessage
from agent.testing import ScriptedChatModel, StaticToolset, call, reply

pytestmark = pytest.mark.anyio

TAG = {"type": "object", "properties": {"tag": {"type": "string"}}, "required": ["tag"]}


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ([], []),
        (["mem"], [[0]]),
        ([None, None], [[0], [1]]),
        (["mem", None, "mem", "fs", "fs", None, "mem"], [[0, 2, 6], [1], [3, 4], [5]]),
    ],
)
def test_calls_with_one_key_share_a_lane_in_order_and_the_rest_run_alone(
    keys: Sequence[Hashable | None], expected: list[list[int]]
) -> None:
    assert lanes(keys) == expected


class Recorder:
    """Tools whose calls record when they start and end.

    ``write`` (not read-only) waits, once started, until both ``read`` calls have started; each
    ``read`` (read-only) waits until both have started. Concurrent writes would both start
    before either ends; reads that did not overlap would wait for ever.
    """

    def __init__(self) -> None:
        self.log: list[str] = []
        self.reads = 0
        self.both_reads_started = anyio.Event()

    async def write(self, tag: str) -> str:
        self.log.append(f"start {tag}")
        await self.both_reads_started.wait()
        self.log.append(f"end {tag}")
        return f"wrote {tag}"

    async def read(self, tag: str) -> str:
        self.log.append(f"read {tag}")
        self.reads += 1
        if self.reads == 2:
            self.both_reads_started.set()
        await self.both_reads_started.wait()
        return f"read {tag}"

    def toolset(self, write_server: str = "mem", second_write_server: str = "mem") -> StaticToolset:
        tools = StaticToolset("mem").add("write", self.write, schema=TAG, server=write_server)
        if second_write_server != write_server:
            tools.add("write", self.write, schema=TAG, server=second_write_server)
        return tools.add("read", self.read, schema=TAG, read_only=True)


def tool_results(model: ScriptedChatModel) -> list[tuple[str, str]]:
    return [(m.tool_call_id, m.content) for m in model.requests[1].messages if isinstance(m, ToolMessage)]


async def test_writes_to_one_server_run_in_call_order_while_reads_overlap() -> None:
    recorder = Recorder()
    model = ScriptedChatModel(
        [
            reply(
                None,
                call("write", {"tag": "a"}, id="w1"),
                call("read", {"tag": "x"}, id="r1"),
                call("write", {"tag": "b"}, id="w2"),
                call("read", {"tag": "y"}, id="r2"),
            ),
            reply("done"),
        ]
    )
    events: list[Event] = []
    with anyio.fail_after(5):  # reads that did not overlap would wait for each other for ever
        result = await run_agent(model, recorder.toolset(), "go", on_event=events.append)
    assert result.stop_reason == "completed"
    writes = [entry for entry in recorder.log if not entry.startswith("read")]
    assert writes == ["start a", "end a", "start b", "end b"]
    # the reads ran while write a was under way
    assert recorder.log.index("read y") < recorder.log.index("end a")
    assert tool_results(model) == [("w1", "wrote a"), ("r1", "read x"), ("w2", "wrote b"), ("r2", "read y")]
    assert [c.id for c in result.tool_calls] == ["w1", "r1", "w2", "r2"]
    tool_events = [
        (type(e).__name__, e.id if isinstance(e, ToolCallStarted) else e.call.id)
        for e in events
        if isinstance(e, ToolCallStarted | ToolCallFinished)
    ]
    assert tool_events.index(("ToolCallFinished", "w1")) < tool_events.index(("ToolCallStarted", "w2"))
    assert sorted(tool_events) == sorted(
        [(kind, id) for id in ("w1", "r1", "w2", "r2") for kind in ("ToolCallStarted", "ToolCallFinished")]
    )


async def test_writes_to_different_servers_run_concurrently() -> None:
    recorder = Recorder()
    model = ScriptedChatModel(
        [
            reply(
                None,
                call("mem__write", {"tag": "a"}, id="w1"),
                call("other__write", {"tag": "b"}, id="w2"),
                call("read", {"tag": "x"}, id="r1"),
                call("read", {"tag": "y"}, id="r2"),
            ),
            reply("done"),
        ]
    )
    with anyio.fail_after(5):
        await run_agent(model, recorder.toolset("mem", "other"), "go")
    writes = [entry for entry in recorder.log if not entry.startswith("read")]
    assert writes == ["start a", "start b", "end a", "end b"]
    assert tool_results(model) == [("w1", "wrote a"), ("w2", "wrote b"), ("r1", "read x"), ("r2", "read y")]


async def test_a_failing_write_does_not_stop_the_next_one_and_unknown_tools_wait_for_nothing() -> None:
    log: list[str] = []

    def write(tag: str) -> str:
        log.append(tag)
        if tag == "a":
            raise RuntimeError("disk full")
        return f"wrote {tag}"

    tools = StaticToolset("mem").add("write", write, schema=TAG)
    model = ScriptedChatModel(
        [
            reply(
                None,
                call("write", {"tag": "a"}, id="w1"),
                call("nope", id="u1"),
                call("write", {"tag": "b"}, id="w2"),
            ),
            reply("done"),
        ]
    )
    result = await run_agent(model, tools, "go")
    assert log == ["a", "b"]
    assert [(c.id, c.is_error) for c in result.tool_calls] == [("w1", True), ("u1", True), ("w2", False)]
    assert tool_results(model)[0] == ("w1", "RuntimeError: disk full")


async def test_serialised_calls_past_the_per_turn_cap_are_still_refused_and_answered_in_order() -> None:
    ran = 0

    def count() -> str:
        nonlocal ran
        ran += 1
        return "ok"

    tools = StaticToolset().add("count", count)
    extra = MAX_CALLS_PER_TURN + 2
    model = ScriptedChatModel(
        [reply(None, *(call("count", id=f"c{i}") for i in range(extra))), reply("done")]
    )
    result = await run_agent(model, tools, "go")
    assert ran == MAX_CALLS_PER_TURN
    assert [c.id for c in result.tool_calls] == [f"c{i}" for i in range(extra)]
    assert [c.is_error for c in result.tool_calls][-3:] == [False, True, True]
