"""The event stream of one run: numbered, time-stamped, opened by a complete ``run_started``.

:class:`RunEvents` sits between the loop and whoever listens to a run (the agent's and the
run's own sinks). It gives every event its ``seq`` (1, 2, ... within the run) and ``ts``, fills
in what the loop cannot know in ``run_started`` (the session and the servers), and follows each
``model_responded`` with a ``usage`` event carrying the run's total so far. The schema of what
comes out is ``docs/events.schema.json`` (see :mod:`agent.events_schema`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agent.events import Event, EventSink, ModelResponded, RunStarted, UsageReported, utc_now
from agent.mcp.report import ServerReport
from agent.messages import Usage

__all__ = ["RunEvents"]


class RunEvents:
    """An :data:`~agent.events.EventSink` that numbers a run's events and hands them to ``sinks``.

    Args:
        sinks: where the events go, in order.
        session_id: the session the run is stored in (None: not stored).
        servers: the run's servers as reported when the run starts.
    """

    def __init__(
        self,
        sinks: Sequence[EventSink],
        *,
        session_id: str | None = None,
        servers: Callable[[], list[ServerReport]] | None = None,
    ) -> None:
        self._sinks = tuple(sinks)
        self.wants_progress = any(getattr(sink, "wants_progress", True) for sink in self._sinks)
        """Whether a sink wants tools' progress (one that says ``wants_progress = False`` does not)."""
        self.session_id = session_id
        self._servers = servers
        self.seq = 0
        self._total = Usage()

    def __call__(self, event: Event) -> None:
        """Number and stamp ``event``, complete it if it opens the run, and pass it on."""
        self.seq += 1
        event.seq = self.seq
        event.ts = utc_now()
        if isinstance(event, RunStarted):
            event.session_id = self.session_id
            if self._servers is not None:
                event.servers = self._servers()
        for sink in self._sinks:
            sink(event)
        if isinstance(event, ModelResponded):
            self._total = self._total + event.usage
            self(UsageReported(turn=event.turn, model=event.model, usage=event.usage, total=self._total))
