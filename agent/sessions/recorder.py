"""Writing a run down as it goes: into the session store, and/or a JSONL transcript file.

:class:`SessionRecorder` is one of a run's event sinks. Events tell it when the conversation
grew (the run started, the model answered, a turn is about to be sent, the run finished); it
then writes the messages added since the last time, so a run killed at any point leaves every
message it had sent. Streamed text deltas are not kept (the messages hold the text).

A transcript is the same records as ``agent sessions export``, one JSON object per line, each
written whole and flushed:

- ``{"type": "session", "session_id", "run", "cwd", "model", "servers", "ts"}`` when a run starts,
- ``{"type": "message", "session_id", "run", "seq", "message"}`` for each message,
- ``{"type": "event", "session_id", "run", "event"}`` for each event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from agent.events import (
    Event,
    ModelResponded,
    ReasoningDelta,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    TurnStarted,
    utc_now,
)
from agent.messages import Message
from agent.redaction import redact
from agent.sessions.store import SessionStore

__all__ = ["SessionRecorder", "message_record"]

_GREW = (RunStarted, TurnStarted, ModelResponded, ToolCallFinished, RunFinished)


def message_record(message: Message) -> dict[str, Any]:
    """A message as stored: its JSON object, without unset optional fields."""
    return message.model_dump(mode="json", exclude_none=True)


class SessionRecorder:
    """Writes the run's conversation and events to ``store`` and/or ``transcript``.

    Args:
        history: the run's messages (extended in place by the loop).
        session_id: the session's id.
        stored: how many messages of ``history`` are stored already (a resumed session's).
        next_seq: the number the next stored message gets.
        store: the session store (None: ``--no-session``).
        transcript: a text file for ``--transcript`` (None: none).
        cwd: the working directory, recorded with the session.
        title: the session's title (its first prompt), used when the session is new.
        secrets: values never to write.
    """

    def __init__(
        self,
        history: list[Message],
        *,
        session_id: str,
        stored: int = 0,
        next_seq: int = 1,
        store: SessionStore | None = None,
        transcript: IO[str] | None = None,
        cwd: str = "",
        title: str = "",
        secrets: Iterable[str | None] = (),
    ) -> None:
        self.history = history
        self.session_id = session_id
        self.store = store
        self.transcript = transcript
        self.cwd = cwd
        self.title = title
        self.run = 0
        self._saved = stored
        self._next_seq = next_seq
        self._secrets = tuple(s for s in secrets if s)

    def __call__(self, event: Event) -> None:
        """Keep ``event``, and the messages the conversation gained before it."""
        if isinstance(event, TextDelta | ReasoningDelta):
            return
        if isinstance(event, RunStarted):
            self._start(event)
        if isinstance(event, _GREW):
            self._save_messages()
        record = event.model_dump(mode="json")
        if self.store is not None:
            self.store.add_event(self.session_id, self.run, event.seq, record)
        self._line({"type": "event", "session_id": self.session_id, "run": self.run, "event": record})
        if isinstance(event, RunFinished):
            self._finish(event)

    def _start(self, event: RunStarted) -> None:
        servers = [s.name for s in event.servers]
        if self.store is not None:
            self.run = self.store.start_run(
                self.session_id, cwd=self.cwd, model=event.model, servers=servers, title=self.title
            )
        else:
            self.run += 1
        header = {
            "type": "session",
            "session_id": self.session_id,
            "run": self.run,
            "cwd": self.cwd,
            "model": event.model,
            "servers": servers,
            "ts": utc_now(),
        }
        self._line(header)

    def _save_messages(self) -> None:
        new = self.history[self._saved :]
        if not new:
            return
        first = self._next_seq
        records = [message_record(m) for m in new]
        self._saved = len(self.history)
        self._next_seq += len(records)
        if self.store is not None:
            self.store.add_messages(self.session_id, self.run, first, records)
        for n, record in enumerate(records):
            self._line(
                {
                    "type": "message",
                    "session_id": self.session_id,
                    "run": self.run,
                    "seq": first + n,
                    "message": record,
                }
            )

    def _finish(self, event: RunFinished) -> None:
        result = event.result
        if self.store is not None:
            self.store.finish_run(
                self.session_id,
                status=result.stop_reason,
                model=result.model,
                usage=result.usage.model_dump(mode="json"),
            )
        if self.transcript is not None:
            self.transcript.flush()

    def _line(self, record: dict[str, Any]) -> None:
        if self.transcript is None:
            return
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        self.transcript.write(redact(text, self._secrets) + "\n")
        self.transcript.flush()
