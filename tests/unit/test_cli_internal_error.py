from __future__ import annotations

import json

import pytest

from agent.cli import run as run_module
from agent.cli.run import execute
from agent.result import RunResult


async def broken_main(self: object, *args: object) -> RunResult:
    raise KeyError("surprise")


def test_an_unexpected_exception_is_one_line_and_the_json_is_still_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(run_module._Runner, "main", broken_main)
    code = execute({"prompt": "hi", "json_output": True})
    out, err = capsys.readouterr()
    assert code == 1
    assert err.splitlines() == [
        "error: internal error: KeyError: 'surprise' (run with --verbose for the traceback)"
    ]
    result = json.loads(out)
    assert result["stop_reason"] == "error"
    assert result["error"]["type"] == "AgentError"


def test_verbose_shows_the_traceback_of_an_unexpected_exception(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(run_module._Runner, "main", broken_main)
    assert execute({"prompt": "hi", "verbose": True}) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == "error: internal error: KeyError: 'surprise'"
