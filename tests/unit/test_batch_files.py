"""The tasks file (untrusted input), the results file (append once), the batch budget, the step errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent import errors
from agent.batch.budget import MemoryBudget, share
from agent.batch.durable import error_from, error_payload
from agent.batch.results import ResultsFile
from agent.batch.tasks import Task, read_tasks, units
from agent.errors import ConfigError


def _file(tmp_path: Path, *lines: str | bytes) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_bytes(b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines))
    return path


def test_tasks_are_objects_or_bare_prompts_whose_id_is_the_line_number(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        '{"id": "a", "prompt": "one", "model": "x/y", "servers": ["calc"], "metadata": {"k": [1]}}',
        "",
        '"two"',
        '{"id": 7, "prompt": "three"}',
    )
    assert read_tasks(path) == [
        Task(id="a", prompt="one", line=1, model="x/y", servers=("calc",), metadata={"k": [1]}),
        Task(id="3", prompt="two", line=3),
        Task(id="7", prompt="three", line=4),
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{", "not JSON"),
        ("[1, 2]", "expected a JSON object with a prompt, or a JSON string, got list"),
        ('{"id": "a"}', "the task has no prompt"),
        ('{"prompt": "x", "tools": []}', "unknown field 'tools'"),
        ('{"prompt": ""}', "prompt: the prompt is empty"),
        ('{"prompt": 3}', "prompt: expected a string, got int"),
        ('{"id": true, "prompt": "x"}', "id: expected a string or an integer, got bool"),
        ('{"id": "", "prompt": "x"}', "id: expected 1 to 200 printable characters"),
        ('{"id": "a\\u001b[2J", "prompt": "x"}', "id: expected 1 to 200 printable characters"),
        ('{"prompt": "x", "model": "a b"}', "model: expected a model id"),
        ('{"prompt": "x", "servers": "calc"}', "servers: expected a list of server names"),
        ('{"prompt": "x", "servers": ["rm -rf /"]}', "is not a server name"),
        ('{"prompt": "x", "servers": ["https://evil.example/mcp"]}', "is not a server name"),
        ("[" * 200 + "]" * 200, "nested too deeply"),
    ],
)
def test_a_bad_line_is_one_error_naming_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    path = _file(tmp_path, '"fine"', line)
    with pytest.raises(ConfigError) as caught:
        read_tasks(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: ")
    assert problem in message
    assert "\n" not in message


def test_a_line_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tasks.jsonl:1: the line is not UTF-8 text"):
        read_tasks(_file(tmp_path, b'"\xff\xfe"'))


def test_duplicate_task_ids_name_both_lines(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tasks.jsonl:3: task id 'a' is also the id of line 1"):
        read_tasks(_file(tmp_path, '{"id": "a", "prompt": "x"}', '"y"', '{"id": "a", "prompt": "z"}'))


def test_an_empty_file_or_a_missing_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no task"):
        read_tasks(_file(tmp_path, "", "  "))
    with pytest.raises(ConfigError, match="cannot read the tasks file"):
        read_tasks(tmp_path / "missing.jsonl")


def test_each_task_runs_on_its_own_model_else_on_every_model_given() -> None:
    own, plain = Task(id="a", prompt="x", line=1, model="m/own"), Task(id="b", prompt="y", line=2)
    assert [(u.task.id, u.model) for u in units([own, plain], ["m/1", "m/2"])] == [
        ("a", "m/own"),
        ("b", "m/1"),
        ("b", "m/2"),
    ]
    assert [(u.task.id, u.model) for u in units([plain], [])] == [("b", "")]
    keys = {u.key for u in units([own, plain], ["m/1", "m/2"])}
    assert len(keys) == 3 and all(len(k) == 20 and k.isalnum() for k in keys)


def test_results_lines_are_written_once_also_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.jsonl"
    line = {"id": "a", "model": "m", "attempt": 1, "result": {"output": "hi"}, "metadata": None}
    results = ResultsFile(path)
    assert results.write([line, line]) == 1
    results.close()
    again = ResultsFile(path)
    assert again.write([line, {**line, "attempt": 2}, {**line, "model": "n"}]) == 2
    again.close()
    lines = [json.loads(text) for text in path.read_text().splitlines()]
    assert [(x["id"], x["model"], x["attempt"]) for x in lines] == [
        ("a", "m", 1),
        ("a", "m", 2),
        ("a", "n", 1),
    ]


def test_a_line_cut_short_by_a_crash_is_dropped_and_written_again(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    whole = json.dumps({"id": "a", "model": "m", "attempt": 1, "result": {}})
    path.write_text(whole + "\n" + '{"id": "b", "model": "m", "attem')
    results = ResultsFile(path)
    assert results.write([{"id": "b", "model": "m", "attempt": 1, "result": {}}]) == 1
    results.close()
    assert [json.loads(text)["id"] for text in path.read_text().splitlines()] == ["a", "b"]


def test_text_that_is_not_valid_unicode_is_escaped_not_lost(tmp_path: Path) -> None:
    results = ResultsFile(tmp_path / "r.jsonl")
    results.write([{"id": "a", "model": "m", "attempt": 1, "result": {"output": "x\ud800y"}}])
    results.close()
    assert json.loads((tmp_path / "r.jsonl").read_text())["result"]["output"] == "x\ud800y"


def test_the_budget_starts_no_task_once_spent_and_reserved_would_cross_it() -> None:
    book = MemoryBudget()
    first = book.reserve("b", "w1", budget=1.0, concurrency=2)
    second = book.reserve("b", "w2", budget=1.0, concurrency=2)
    assert (first.allowed, first.cap, second.allowed, second.cap) == (True, 0.5, True, 0.5)
    assert not book.reserve("b", "w3", budget=1.0, concurrency=2).allowed  # all reserved
    book.settle("b", "w1", 0.1)
    fourth = book.reserve("b", "w4", budget=1.0, concurrency=2)
    assert fourth.allowed and fourth.cap == pytest.approx(0.4)  # what is left
    book.settle("b", "w2", 0.5)
    book.settle("b", "w4", 0.35)
    assert not book.reserve("b", "w5", budget=1.0, concurrency=2).allowed  # 0.05 left, tasks cost more


def test_a_task_does_not_start_when_less_is_left_than_a_task_costs() -> None:
    assert share(1.0, 10, spent=0.95, reserved=0.0, settled=[0.1]) == 0.0
    assert share(1.0, 10, spent=0.5, reserved=0.0, settled=[0.1]) == pytest.approx(0.4)
    assert share(1.0, 10, spent=0.0, reserved=0.0, settled=[]) == pytest.approx(0.1)


@pytest.mark.parametrize(
    "cls",
    [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.ProviderError)],
)
def test_every_provider_error_a_request_ends_in_is_raised_again_the_same_on_replay(
    cls: type[errors.ProviderError],
) -> None:
    original = cls(
        "upstream said no",
        status=429,
        code="rate",
        metadata={"raw": "x", "provider_name": "p"},
        model="m/1",
        retry_after=2.5,
        fallback_models=["m/2"],
        availability_code="capacity_exhausted",
    )
    again = error_from(json.loads(json.dumps(error_payload(original))))
    assert type(again) is cls
    for name in ("message", "status", "code", "metadata", "model", "retry_after", "retryable"):
        assert getattr(again, name) == getattr(original, name)
    assert again.fallback_models == original.fallback_models
    assert again.availability_code == original.availability_code
    assert str(again) == str(original)


def test_metadata_that_is_not_json_is_kept_as_text() -> None:
    payload = error_payload(errors.ProviderError("no", metadata={"when": object.__name__, "n": {1, 2}}))
    assert json.loads(json.dumps(payload))["metadata"]["n"] == "{1, 2}"


def test_other_errors_are_raised_again_with_their_message() -> None:
    config = error_from(error_payload(ConfigError("bad", source="--x")))
    assert (type(config), str(config)) == (ConfigError, "--x: bad")
    other = error_from(error_payload(errors.McpError("down", server="s")))
    assert (type(other), str(other)) == (errors.AgentError, "MCP server 's': down")
