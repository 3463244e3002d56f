"""A recording handed to ``--replay`` may come from anywhere (a repository's test data): whatever it
holds, the run ends with one line naming the file, never a traceback or a raw control sequence."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from agent.errors import ConfigError
from agent.replay import replaying
from agent.replay.replaying import Recording, ReplayTransport

HEADER = '{"type": "recording", "version": 1}\n'


def http(**fields: object) -> str:
    record = {"type": "http", "method": "POST", "path": "/api/v1/chat/completions", "request": {}}
    record.update({"status": 200, "headers": {}, "body": "{}"}, **fields)
    return json.dumps(record) + "\n"


HOSTILE = {
    "deeply-nested": (HEADER + '{"x": ' + "[" * 50_000 + "]" * 50_000 + "}\n", "line 2 is not JSON"),
    "not-utf8": (HEADER.encode() + b"\xff\xfe\x00garbage\n", "is not UTF-8 text"),
    "a-list": (HEADER + "[1, 2]\n", "line 2 is not a JSON object"),
    "status-text": (HEADER + http(status="200"), "line 2 has no HTTP status (100-599)"),
    "status-huge": (HEADER + http(status=10**30), "line 2 has no HTTP status (100-599)"),
    "body-object": (HEADER + http(body={"a": 1}), "line 2 needs method, path and body as text"),
    "header-object": (
        HEADER + http(headers={"retry-after": {"x": 1}}),
        "line 2 has headers that are not text",
    ),
    "version-escape": (
        '{"type": "recording", "version": "\\u001b[2J' + "v" * 500 + '"}\n',
        "recording version",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_recording_is_refused_in_one_line(tmp_path: Path, name: str) -> None:
    content, expected = HOSTILE[name]
    path = tmp_path / "rec.jsonl"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as caught:
        Recording(path)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and "\x1b" not in message and len(message) < 400


def test_a_recording_over_the_size_limit_is_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replaying, "MAX_RECORDING_BYTES", 1 << 20)
    path = tmp_path / "rec.jsonl"
    path.write_text(HEADER + " " * (2 << 20))
    with pytest.raises(ConfigError, match="is larger than 1 MiB"):
        Recording(path)


@pytest.mark.anyio
async def test_recorded_headers_are_given_back_only_as_kept_and_on_one_line(tmp_path: Path) -> None:
    headers = {"content-type": "application/json\r\nX-Evil: 1", "set-cookie": "a=b"}
    catalog = http(method="GET", path="/api/v1/models", request=None, headers=headers, body='{"data": []}')
    (tmp_path / "rec.jsonl").write_text(HEADER + catalog)
    transport = ReplayTransport(Recording(tmp_path / "rec.jsonl"))
    response = await transport.handle_async_request(httpx.Request("GET", "http://127.0.0.1:9/api/v1/models"))
    assert dict(response.headers) == {"content-type": "application/json X-Evil: 1", "content-length": "12"}
