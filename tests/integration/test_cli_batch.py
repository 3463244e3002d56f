"""``agent batch``: durable batches on SQLite against the loopback OpenRouter and the bundled calc server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.batch_helpers import (
    MODEL,
    TwoTurns,
    batch_id_of,
    env_for,
    lines_of,
    loopback,
    run_args,
    run_command,
    start,
    wait_for_lines,
    write_tasks,
)
from tests.integration.cli_helpers import TEST_KEY, run_agent_cli


def test_a_batch_writes_one_line_per_task_with_its_result_and_metadata(tmp_path: Path) -> None:
    model = TwoTurns()
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        '{"id": "a", "prompt": "task 1", "metadata": {"row": 1}}\n'
        '"task 2"\n'
        '{"id": 3, "prompt": "task 3", "model": "vendor/other"}\n'
    )
    with loopback(model) as server:
        env = env_for(server, tmp_path)
        done = run_command(
            *run_args("--json", results="out/results.jsonl"),
            env=env,
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    summary = done.json()
    assert {k: summary[k] for k in ("total", "completed", "failed", "skipped", "written", "exit_code")} == {
        "total": 3,
        "completed": 3,
        "failed": 0,
        "skipped": 0,
        "written": 3,
        "exit_code": 0,
    }
    lines = {line["id"]: line for line in lines_of(tmp_path / "out" / "results.jsonl")}
    assert sorted(lines) == ["2", "3", "a"]
    assert [(lines[k]["model"], lines[k]["attempt"], lines[k]["metadata"]) for k in ("a", "2", "3")] == [
        (MODEL, 1, {"row": 1}),
        (MODEL, 1, None),
        ("vendor/other", 1, None),
    ]
    first = lines["a"]["result"]
    assert (first["stop_reason"], first["turns"], first["output"]) == ("completed", 2, "task 1: 2")
    assert [(c["server"], c["tool"], c["arguments"]) for c in first["tool_calls"]] == [
        ("calc", "evaluate", {"expression": "1+1"})
    ]
    assert model.models == {MODEL: 2, "vendor/other": 1}
    assert not model.twice()
    stored = b"".join(p.read_bytes() for p in (tmp_path / "agent-data").rglob("*") if p.is_file())
    assert TEST_KEY.encode() not in stored  # nor in the batch database
    assert TEST_KEY not in (tmp_path / "out" / "results.jsonl").read_text()
    done.assert_no_key()


def test_a_bad_tasks_line_exits_2_naming_the_line_and_runs_nothing(tmp_path: Path) -> None:
    model = TwoTurns()
    (tmp_path / "tasks.jsonl").write_text('"task 1"\n{"prompt": "task 2", "tools": []}\n')
    with loopback(model) as server:
        done = run_agent_cli(
            "batch",
            "run",
            "tasks.jsonl",
            "-o",
            "r.jsonl",
            "--no-servers",
            env=env_for(server, tmp_path),
            cwd=tmp_path,
        )
        requests = server.requests
    assert done.code == 2
    where = tmp_path / "tasks.jsonl"
    assert done.stderr.strip().splitlines() == [
        f"error: {where}:2: unknown field 'tools'; a task has id, prompt, model, servers, metadata"
    ]
    assert not requests
    assert not lines_of(tmp_path / "r.jsonl")


def test_a_batch_killed_half_way_carries_on_and_pays_for_no_answer_twice(tmp_path: Path) -> None:
    """kill -9 about half-way; `resume ID`; then the same command again finds nothing left to do.

    The batch runs in two processes (``--workers 2``): the local worker takes its share of the
    tasks, and stops by itself once the process that started it is killed.
    """
    model = TwoTurns(delay=0.2)
    write_tasks(tmp_path / "tasks.jsonl", 12)
    results = tmp_path / "results.jsonl"
    command = run_args("--concurrency", "3", results="results.jsonl")
    with loopback(model) as server:
        env = env_for(server, tmp_path)
        proc = start(*command, "--workers", "2", env=env, cwd=tmp_path)
        wait_for_lines(results, 6, proc)
        [worker] = local_workers_of(proc.pid)
        # Each process runs at most 2 of the 3 tasks at once: both have taken tasks by now, or soon.
        took = tmp_path / "agent-data" / "batches.sqlite"
        wait_for(lambda: {proc.pid, worker} <= executor_pids(took), proc, "both processes take tasks")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        wait_until_gone(worker)
        assert proc.stderr is not None
        batch = batch_id_of(proc.stderr.read())
        proc.stderr.close()
        assert proc.stdout is not None
        proc.stdout.close()
        resumed = run_command("resume", batch, "--json", env=env, cwd=tmp_path)
        assert resumed.code == 0, resumed.stderr
        assert resumed.json()["completed"] == 12
        firsts = sum(model.firsts.values())
        again = run_command(*command, env=env, cwd=tmp_path)
        assert again.code == 0, again.stderr
        assert "carrying on batch" in again.stderr
        assert sum(model.firsts.values()) == firsts  # nothing ran again
        status = run_command("status", batch, "--json", env=env, cwd=tmp_path)
    ran_on = status.json()["executors"]  # the last attempt's process: the killed ones' finished tasks
    assert len(ran_on) >= 2 and sum(ran_on.values()) == 12, ran_on
    lines = lines_of(results)
    assert sorted(line["id"] for line in lines) == sorted(f"t{i}" for i in range(12))
    assert all(line["result"]["stop_reason"] == "completed" for line in lines)
    assert set(model.firsts) == {f"task {i}" for i in range(12)}
    assert max(model.firsts.values()) <= 2
    assert len(model.twice()) <= 3  # only tasks in flight at the kill asked again


def local_workers_of(parent: int, timeout: float = 60) -> list[int]:
    """The pids of the local workers that ``agent batch run --workers`` started as ``parent``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if (
                b"worker" in argv
                and b"--parent" in argv
                and argv[argv.index(b"--parent") + 1] == str(parent).encode()
            ):
                found.append(int(entry.name))
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no local worker of {parent}")


def executor_pids(database: Path) -> set[int]:
    """The pids of the processes (DBOS executors) that took a task of the batch database so far."""
    if not database.exists():
        return set()
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
        rows = db.execute(
            "SELECT DISTINCT executor_id FROM workflow_status WHERE status IN ('PENDING', 'SUCCESS')"
        ).fetchall()
    return {int(str(executor).split("-")[-2]) for (executor,) in rows if executor}


def wait_for(
    condition: Callable[[], bool], proc: subprocess.Popen[str], what: str, timeout: float = 180
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the batch ended before {what}"
        assert time.monotonic() < deadline, f"not after {timeout} s: {what}"
        time.sleep(0.05)


def wait_until_gone(pid: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and b"Z" not in _state(pid):
        assert time.monotonic() < deadline, f"the local worker {pid} outlived its parent"
        time.sleep(0.1)


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return b"Z"


def test_failed_tasks_exit_1_and_retry_runs_them_as_a_new_attempt(tmp_path: Path) -> None:
    model = TwoTurns(fail_first=("task 1",))
    write_tasks(tmp_path / "tasks.jsonl", 3)
    with loopback(model) as server:
        env = env_for(server, tmp_path)
        first = run_command(
            *run_args("--retries", "0"),
            env=env,
            cwd=tmp_path,
        )
        assert first.code == 1, first.stderr
        assert "2 of 3 completed · 1 failed" in first.stdout
        retried = run_command("retry", batch_id_of(first.stderr), "--failed", "--json", env=env, cwd=tmp_path)
    assert retried.code == 0, retried.stderr
    assert retried.json()["completed"] == 3
    lines = lines_of(tmp_path / "r.jsonl")
    assert sorted((line["id"], line["attempt"], line["result"]["stop_reason"]) for line in lines) == [
        ("t0", 1, "completed"),
        ("t1", 1, "error"),
        ("t1", 2, "completed"),
        ("t2", 1, "completed"),
    ]
    failed = next(line for line in lines if line["attempt"] == 1 and line["id"] == "t1")
    assert failed["result"]["error"]["type"] == "BadRequestError"


def test_the_budget_stops_starting_tasks_and_exits_3(tmp_path: Path) -> None:
    """Each request costs $0.001 (two per task): a $0.005 budget runs two tasks one at a time."""
    model = TwoTurns()
    write_tasks(tmp_path / "tasks.jsonl", 5)
    with loopback(model) as server:
        done = run_command(
            *run_args("--concurrency", "1", "--max-cost", "0.005", "--json"),
            env=env_for(server, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 3, done.stderr
    summary = done.json()
    assert (summary["completed"], summary["skipped"], summary["cost"]) == (2, 3, 0.004)
    assert len(lines_of(tmp_path / "r.jsonl")) == 2
    assert sum(model.firsts.values()) == 2


def test_every_task_runs_on_every_model_of_models(tmp_path: Path) -> None:
    model = TwoTurns()
    write_tasks(tmp_path / "tasks.jsonl", 2)
    with loopback(model) as server:
        done = run_command(
            *run_args("--models", "a/one,b/two", model=None),
            env=env_for(server, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    assert sorted((line["id"], line["model"]) for line in lines_of(tmp_path / "r.jsonl")) == [
        ("t0", "a/one"),
        ("t0", "b/two"),
        ("t1", "a/one"),
        ("t1", "b/two"),
    ]
    assert model.models == {"a/one": 2, "b/two": 2}


def test_a_cancelled_batch_stops_shows_so_and_resumes(tmp_path: Path) -> None:
    model = TwoTurns(hold_from=1)  # task 1 waits until the batch is cancelled
    write_tasks(tmp_path / "tasks.jsonl", 4)
    results = tmp_path / "r.jsonl"
    with loopback(model) as server:
        env = env_for(server, tmp_path)
        proc = start(
            *run_args("--concurrency", "1"),
            env=env,
            cwd=tmp_path,
        )
        wait_for_lines(results, 1, proc)
        listed = run_command("list", "--json", env=env, cwd=tmp_path)
        assert listed.code == 0, listed.stderr
        (entry,) = json.loads(listed.stdout)
        batch = entry["batch"]
        assert (entry["state"], entry["total"]) == ("running", 4)
        cancelled = run_command("cancel", batch[:6], env=env, cwd=tmp_path)
        assert cancelled.code == 0, cancelled.stderr
        assert f"batch {batch}: 3 tasks cancelled" in cancelled.stderr
        model.gate.set()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err
        assert "cancelled" in out
        status = run_command("status", batch, "--json", env=env, cwd=tmp_path)
        assert status.code == 0, status.stderr
        shown = status.json()
        assert shown["state"] == "cancelled" and shown["cancelled"] >= 1 and shown["total"] == 4
        resumed = run_command("resume", batch, env=env, cwd=tmp_path)
    assert resumed.code == 0, resumed.stderr
    assert sorted(line["id"] for line in lines_of(results)) == ["t0", "t1", "t2", "t3"]
    assert max(model.firsts.values()) <= 2


def test_an_unknown_batch_id_exits_2(tmp_path: Path) -> None:
    done = run_command("status", "bnope", env=env_for_nothing(tmp_path), cwd=tmp_path)
    assert done.code == 2
    assert "no batch 'bnope'" in done.stderr


def env_for_nothing(home: Path) -> dict[str, str]:
    from tests.integration.cli_helpers import agent_env

    return agent_env(None, home)


def test_rpm_holds_tasks_in_the_queue_beyond_the_rate(tmp_path: Path) -> None:
    """--rpm 1 with room for three at once: one task starts, the others wait in DBOS's queue."""
    model = TwoTurns()
    write_tasks(tmp_path / "tasks.jsonl", 3)
    with loopback(model) as server:
        env = env_for(server, tmp_path)
        proc = start(
            *run_args("--concurrency", "3", "--rpm", "1"),
            env=env,
            cwd=tmp_path,
        )
        try:
            wait_for_lines(tmp_path / "r.jsonl", 1, proc)
            assert proc.stderr is not None
            status = run_command(
                "status", batch_id_of(proc.stderr.readline()), "--json", env=env, cwd=tmp_path
            )
        finally:
            proc.kill()
            proc.communicate()
    assert status.code == 0, status.stderr
    shown = status.json()
    assert (shown["completed"], shown["running"], shown["queued"]) == (1, 0, 2)
    assert sum(model.firsts.values()) == 1


def test_without_durability_a_batch_runs_in_a_pool_and_skips_the_lines_it_has(tmp_path: Path) -> None:
    model = TwoTurns()
    write_tasks(tmp_path / "tasks.jsonl", 3)
    command = run_args("--no-durable", "--json")
    with loopback(model) as server:
        env = env_for(server, tmp_path)
        first = run_command(*command, env=env, cwd=tmp_path)
        asked_first = dict(model.firsts)
        again = run_command(*command, env=env, cwd=tmp_path)
    assert (first.code, again.code) == (0, 0), first.stderr + again.stderr
    assert first.json()["completed"] == 3
    assert sorted(line["id"] for line in lines_of(tmp_path / "r.jsonl")) == ["t0", "t1", "t2"]
    assert model.firsts == asked_first, again.stderr  # the second run found every line written
    assert sum(model.firsts.values()) == 3, first.stderr  # and the first asked once per task
    assert not (tmp_path / "agent-data" / "batches.sqlite").exists()
