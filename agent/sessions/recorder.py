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
    TurnStarted,
    utc_now,
)
from agent.messages import Message
from agent.redaction import redact
from agent.sessions.store import SessionStore

__all__ = ["SessionRecorder", "message_json", "message_record"]

_GREW = (RunStarted, TurnStarted, ModelResponded, RunFinished)
"""Events after which the conversation may have grown: the messages are written then (a turn's
tool results, added when its calls are done, are written when the next turn starts)."""


def message_record(message: Message) -> dict[str, Any]:
    """A message as stored: its JSON object, without unset optional fields."""
    return message.model_dump(mode="json", exclude_none=True)


def message_json(message: Message) -> str:
    """:func:`message_record` as JSON text (encoded once, by pydantic)."""
    return message.model_dump_json(exclude_none=True)


class SessionRecorder:
    """Writes the run's conversation and events to ``store`` and/or ``transcript``.

    Args:
        history: the run's messages (extended in place by the loop).
        session_id: the session's id.
        stored: how many messages of ``history`` are stored already (a resumed session's).
        next_seq: the number the next stored message gets.
        runs: how many runs the session had before (a resumed session's).
        store: the session store (None: ``--no-session``).
        transcript: a text file for ``--transcript`` (None: none).
        cwd: the working directory, recorded with the session.
        title: the session's title (its first prompt), used when the session is new.
        secrets: values never to write.
    """

    wants_progress = False
    """Tools' progress is not kept: servers are not asked for it on the recorder's account."""

    def __init__(
        self,
        history: list[Message],
        *,
        session_id: str,
        stored: int = 0,
        next_seq: int = 1,
        runs: int = 0,
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
        self.run = runs
        self._saved = stored
        self._events: list[tuple[int, str]] = []
        self._next_seq = next_seq
        self._secrets = tuple(s for s in secrets if s)

    def __call__(self, event: Event) -> None:
        """Keep ``event``, and the messages the conversation gained before it."""
        if isinstance(event, TextDelta | ReasoningDelta):
            return
        if isinstance(event, RunStarted):
            self._start(event)
        text = event.model_dump_json()
        self._events.append((event.seq, text))
        if isinstance(event, _GREW):  # the messages it follows come first, in the file too
            self._save()
        self._line(f'{{"type":"event","session_id":"{self.session_id}","run":{self.run},"event":{text}}}')
        if isinstance(event, RunFinished):
            self._finish(event)

    def _start(self, event: RunStarted) -> None:
        servers = [s.name for s in event.servers]
        self.run += 1
        if self.store is not None:
            self.store.start_run(
                self.session_id, self.run, cwd=self.cwd, model=event.model, servers=servers, title=self.title
            )
        header = {
            "type": "session",
            "session_id": self.session_id,
            "run": self.run,
            "cwd": self.cwd,
            "model": event.model,
            "servers": servers,
            "ts": utc_now(),
        }
        self._line(json.dumps(header, ensure_ascii=False, separators=(",", ":")))

    def _save(self) -> None:
        """Write the messages added since the last time, and the events kept meanwhile."""
        new = self.history[self._saved :]
        first = self._next_seq
        texts = [message_json(m) for m in new]
        self._saved = len(self.history)
        self._next_seq += len(texts)
        events, self._events = self._events, []
        if self.store is not None:
            self.store.save(self.session_id, self.run, first_seq=first, messages=texts, events=events)
        for n, text in enumerate(texts):
            self._line(
                f'{{"type":"message","session_id":"{self.session_id}","run":{self.run},'
                f'"seq":{first + n},"message":{text}}}'
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

    def _line(self, text: str) -> None:
        if self.transcript is None:
            return
        self.transcript.write(redact(text, self._secrets) + "\n")
        self.transcript.flush()
