"""``--replay FILE``: a run against a recording instead of the provider, offline and without a key.

Requests to the model are answered in order with the recorded responses, after checking that
each asks exactly what was asked when recording; the first difference ends the run with a
:class:`~agent.errors.ReplayDivergedError` naming the request and the place (``messages[3].content``). Other
requests (the model catalog, ``/key``) get the recorded answer for the same path, or a 404.
With ``--replay-tools`` the tool calls are answered from the recording too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from agent import safe_json
from agent.errors import ConfigError, ReplayDivergedError
from agent.replay.recording import KEPT_HEADERS, RECORDING_VERSION
from agent.text import one_line
from agent.tools import ToolInfo, ToolOutcome, Toolset

__all__ = ["Recording", "ReplayToolset", "ReplayTransport", "first_difference"]

_SHOWN = 120
MAX_RECORDING_BYTES = 256 << 20
"""The largest recording read."""


class Recording:
    """A recording read back: its model exchanges in order, its other requests, its tool calls.

    Raises:
        ConfigError: the file cannot be read or is not a recording (one line naming ``--replay``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            if path.stat().st_size > MAX_RECORDING_BYTES:
                raise ConfigError(f"{path} is larger than {MAX_RECORDING_BYTES >> 20} MiB", source="--replay")
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", source="--replay") from exc
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text", source="--replay") from None
        records: list[dict[str, Any]] = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = safe_json.loads(line)
            except ValueError:
                raise ConfigError(f"{path}: line {number} is not JSON", source="--replay") from None
            problem = _problem(record)
            if problem is not None:
                raise ConfigError(f"{path}: line {number} {problem}", source="--replay")
            records.append(record)
        if not records or records[0].get("type") != "recording":
            raise ConfigError(
                f"{path} is not a recording (agent run --record FILE makes one)", source="--replay"
            )
        if records[0].get("version") != RECORDING_VERSION:
            raise ConfigError(
                f"{path}: recording version {one_line(repr(records[0].get('version')), 40)}; "
                f"this agent reads version {RECORDING_VERSION}",
                source="--replay",
            )
        http = [r for r in records if r.get("type") == "http"]
        self.chats = [r for r in http if r.get("method") == "POST"]
        self.others = [r for r in http if r.get("method") != "POST"]
        self.tools = [r for r in records if r.get("type") == "tool"]
        self.answered = 0


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers the runtime's HTTP requests from ``recording``; nothing leaves the process."""

    def __init__(self, recording: Recording) -> None:
        self._recording = recording

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The recorded response to ``request``.

        Raises:
            ReplayDivergedError: a model request differs from the recorded one, or was not recorded.
        """
        recording = self._recording
        path = request.url.raw_path.decode("ascii", "replace")
        if request.method != "POST":
            for record in recording.others:
                if record.get("method") == request.method and record.get("path") == path:
                    return _response(record)
            return httpx.Response(404, json={"error": {"code": 404, "message": "not in the recording"}})
        number = recording.answered + 1
        if recording.answered >= len(recording.chats):
            raise ReplayDivergedError(
                f"the run diverged from {recording.path.name} at model request {number}: "
                f"the recording has only {len(recording.chats)}"
            )
        record = recording.chats[recording.answered]
        sent = json.loads(request.content) if request.content else None
        where = first_difference(_without_session(record.get("request")), _without_session(sent))
        if where is not None:
            raise ReplayDivergedError(
                f"the run diverged from {recording.path.name} at model request {number}: {where}"
            )
        recording.answered += 1
        return _response(record)


def _problem(record: Any) -> str | None:
    """What is wrong with one line of a recording (None: it is a record this agent can use)."""
    if not isinstance(record, dict):
        return "is not a JSON object"
    if record.get("type") != "http":
        return None
    status = record.get("status")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return "has no HTTP status (100-599)"
    if not all(isinstance(record.get(name), str) for name in ("method", "path", "body")):
        return "needs method, path and body as text"
    headers = record.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        return "has headers that are not text"
    return None


def _response(record: dict[str, Any]) -> httpx.Response:
    """The recorded answer; only the headers a recording keeps are replayed, each on one line."""
    headers = record.get("headers") or {}
    kept = {name: one_line(headers[name], 200) for name in KEPT_HEADERS if name in headers}
    return httpx.Response(record["status"], headers=kept, content=record["body"].encode("utf-8"))


def _without_session(body: Any) -> Any:
    """A request without its ``session_id``: each run has its own, so a replay's differs."""
    if isinstance(body, dict) and "session_id" in body:
        return {key: value for key, value in body.items() if key != "session_id"}
    return body


def first_difference(recorded: Any, now: Any, path: str = "") -> str | None:
    """Where ``now`` first differs from ``recorded`` (``messages[3].content: ...``), or None."""
    if isinstance(recorded, dict) and isinstance(now, dict):
        for key in list(recorded) + [k for k in now if k not in recorded]:
            where = f"{path}.{key}" if path else str(key)
            if key not in now:
                return f"{where} was sent when recording, not now"
            if key not in recorded:
                return f"{where} is sent now, not when recording"
            found = first_difference(recorded[key], now[key], where)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(now, list):
        for index, (a, b) in enumerate(zip(recorded, now, strict=False)):
            found = first_difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        if len(recorded) != len(now):
            return f"{path or 'request'} has {len(now)} items now, {len(recorded)} when recording"
        return None
    if recorded != now:
        return f"{path or 'request'} is {_shown(now)} now, {_shown(recorded)} when recording"
    return None


def _shown(value: Any) -> str:
    return one_line(json.dumps(value, ensure_ascii=False), _SHOWN)


class ReplayToolset:
    """A :class:`~agent.tools.Toolset` whose calls are answered from the recording.

    A call is matched to the first unused recorded call with the same server, tool and
    arguments (calls of one turn may have run in any order); one that matches none is an error
    result naming it (the model request after it then differs from the recording).
    """

    def __init__(self, inner: Toolset, recording: Recording) -> None:
        self._inner = inner
        self._unused = list(recording.tools)

    def tools(self) -> Sequence[ToolInfo]:
        """The tools of the live servers (what the model is offered)."""
        return self._inner.tools()

    async def call(self, server: str, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        """The recorded outcome of this call."""
        for index, record in enumerate(self._unused):
            if (record.get("server"), record.get("tool"), record.get("arguments")) == (
                server,
                tool,
                arguments,
            ):
                del self._unused[index]
                return ToolOutcome(str(record.get("text", "")), bool(record.get("is_error")))
        return ToolOutcome(
            f"Not replayed: the recording has no call of {server}.{tool} with these arguments", True
        )
