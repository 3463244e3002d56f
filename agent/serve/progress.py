"""A run's turns as MCP progress notifications: ``progress`` is the turn, ``message`` what it does.

One notification per turn (progress must increase), sent once the turn's response says what
comes next: ``turn 2: calling fs.read_file`` (the calls the model asked for, as far as they have
started) or ``turn 3: answering``. The run's events arrive through a synchronous sink; a task of
the tool call's own sends them, so a slow host never holds up the run.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from agent.events import Event, ModelResponded, ToolCallStarted
from agent.text import one_line

__all__ = ["TurnProgress", "turn_message"]

Report = Callable[[float, str], Awaitable[None]]
"""Sends one progress notification: the turn and its message."""

_MAX_NAMES = 5
_MAX_MESSAGE = 300


def _call_name(event: ToolCallStarted) -> str:
    return f"{event.server}.{event.tool}" if event.server else event.tool


def turn_message(turn: int, calls: int, names: list[str]) -> str:
    """``turn 2: calling fs.read_file, calc.evaluate`` (``and N more``), or ``turn 3: answering``."""
    if calls == 0:
        return f"turn {turn}: answering"
    shown = list(dict.fromkeys(names))[:_MAX_NAMES]
    if not shown:
        return f"turn {turn}: calling {calls} tool{'' if calls == 1 else 's'}"
    rest = calls - sum(name in shown for name in names)
    more = f" and {rest} more" if rest > 0 else ""
    return one_line(f"turn {turn}: calling {', '.join(shown)}{more}", _MAX_MESSAGE)


class TurnProgress:
    """Turns a run's events into one progress notification per turn, sent by :meth:`send_all`.

    ``sink`` is the run's event sink; run :meth:`send_all` in a task beside the run and
    :meth:`close` when the run is over.
    """

    def __init__(self, report: Report) -> None:
        self._report = report
        send, receive = anyio.create_memory_object_stream[Event](max_buffer_size=math.inf)
        self._send: MemoryObjectSendStream[Event] = send
        self._receive: MemoryObjectReceiveStream[Event] = receive

    def sink(self, event: Event) -> None:
        """Take one event of the run (never blocks)."""
        if isinstance(event, ModelResponded | ToolCallStarted):
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
                self._send.send_nowait(event)

    def close(self) -> None:
        """The run is over: send what is pending and stop."""
        self._send.close()

    async def send_all(self) -> None:
        """Send a notification per turn until :meth:`close`.

        A turn with calls waits for its first call to start, then names every call that has
        started by then.
        """
        last = 0
        held: Event | None = None
        async with self._receive:
            while True:
                event = held if held is not None else await self._next()
                held = None
                if not isinstance(event, ModelResponded):
                    if event is None:
                        return
                    continue  # a call of a turn already reported
                names: list[str] = []
                if event.tool_calls:
                    first = await self._next()
                    if isinstance(first, ToolCallStarted):
                        names.append(_call_name(first))
                        while len(names) < event.tool_calls:  # the others that started already
                            more = self._next_nowait()
                            if not isinstance(more, ToolCallStarted):
                                held = more
                                break
                            names.append(_call_name(more))
                    else:
                        held = first
                if event.turn > last:
                    last = event.turn
                    await self._report(event.turn, turn_message(event.turn, event.tool_calls, names))

    async def _next(self) -> Event | None:
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            return None

    def _next_nowait(self) -> Event | None:
        try:
            return self._receive.receive_nowait()
        except (anyio.WouldBlock, anyio.EndOfStream):
            return None
