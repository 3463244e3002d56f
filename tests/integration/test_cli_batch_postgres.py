"""``agent batch`` across machines: workers share one batch on a real Postgres.

Needs ``AGENT_TEST_POSTGRES_URL`` (a server the tests may create databases on); ``.ci/run``
starts a throwaway one (``.ci/postgres``). Each test makes a database of its own.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.batch_helpers import (
    TwoTurns,
    env_for,
    lines_of,
    loopback,
    run_args,
    start,
    wait_for_lines,
    write_tasks,
)


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh database on the test Postgres server."""
    base = os.environ.get("AGENT_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no Postgres: set AGENT_TEST_POSTGRES_URL to a server URL (.ci/run starts one)")
    import sqlalchemy as sa

    server = base.rsplit("/", 1)[0]
    name = f"agent_batch_{secrets.token_hex(4)}"
    engine = sa.create_engine(f"{server.replace('postgresql://', 'postgresql+psycopg://')}/postgres")
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield f"{server}/{name}"
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def _running_on(url: str, pid: int) -> int:
    """Tasks running now in the process ``pid`` (by its DBOS executor id)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT to_regclass('dbos.workflow_status')")).scalar() is None:
                return 0  # DBOS has not made its tables yet
            return int(
                conn.execute(
                    sa.text(
                        "SELECT count(*) FROM dbos.workflow_status"
                        " WHERE status = 'PENDING' AND executor_id LIKE :p"
                    ),
                    {"p": f"%-{pid}-%"},
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _executors(url: str) -> set[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT DISTINCT executor_id FROM dbos.workflow_status")).scalars()
            return {str(row) for row in rows}
    finally:
        engine.dispose()


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def test_two_workers_share_a_batch_run_no_task_twice_and_a_killed_one_loses_nothing(
    tmp_path: Path, database: str
) -> None:
    model = TwoTurns(delay=0.3)
    tasks = 16
    write_tasks(tmp_path / "tasks.jsonl", tasks)
    results = tmp_path / "r.jsonl"
    with loopback(model) as server:
        env = env_for(server, tmp_path, AGENT_DATABASE_URL=database)
        workers = [start("worker", env=env, cwd=tmp_path) for _ in range(2)]
        run = start(
            *run_args("--concurrency", "6"),
            env=env,
            cwd=tmp_path,
        )
        try:
            deadline = time.monotonic() + 60
            while (in_flight := _running_on(database, workers[0].pid)) == 0:
                assert run.poll() is None and time.monotonic() < deadline, "worker 1 never took a task"
                time.sleep(0.05)
            workers[0].kill()  # SIGKILL, mid-task
            workers[0].wait()
            _, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
            wait_for_lines(results, tasks)
            ran_on = _executors(database)
        finally:
            for proc in (*workers, run):
                _stop(proc)
    lines = lines_of(results)
    assert sorted(line["id"] for line in lines) == sorted(f"t{i}" for i in range(tasks))
    assert all(line["result"]["stop_reason"] == "completed" for line in lines)
    assert set(model.firsts) == {f"task {i}" for i in range(tasks)}
    assert max(model.firsts.values()) <= 2
    assert in_flight > 0
    assert len(model.twice()) <= 6  # only tasks in flight at the kill (at most --concurrency) asked again
    assert any(f"-{workers[1].pid}-" in executor for executor in ran_on)  # the other worker took tasks
