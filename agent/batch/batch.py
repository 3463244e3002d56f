"""Durable batches: run, carry on, retry, cancel, look at, and work on them (what ``agent batch`` calls).

A batch is an id (:meth:`BatchSpec.batch_id`: the tasks file, the results file, the models and
the options), so running the same command again carries the same batch on. Each task on each
model is one DBOS workflow, ``<batch>-<unit>-<attempt>``, enqueued on the batch's queue,
partitioned by model: ``--concurrency`` is the queue's concurrency across every process,
``--rpm`` each model's rate limit (tasks started per minute). Whoever runs the batch (``run``,
``resume``, ``retry``) follows it: it writes each finished task's line to the results file, and
reports :class:`~agent.batch.follow.Progress` (:mod:`agent.batch.follow`). Any process of the
same database may run its tasks (``worker``). ``--no-durable`` is :mod:`agent.batch.plain`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from agent.batch.follow import (
    TERMINAL,
    Follower,
    Progress,
    ProgressSink,
    input_of,
    split_workflow,
    workflow_id,
)
from agent.batch.results import ResultsFile
from agent.batch.tasks import Unit, read_tasks, units
from agent.errors import ConfigError

if TYPE_CHECKING:
    from dbos import WorkflowStatus

    from agent.batch.engine import Engine
    from agent.batch.local_workers import LocalWorkers
    from agent.batch.runner import TaskRunner
    from agent.batch.store import BatchRecord

__all__ = [
    "BatchSpec",
    "BatchStatus",
    "Progress",
    "ProgressSink",
    "cancel_batch",
    "list_batches",
    "resume_batch",
    "retry_batch",
    "run_batch",
    "run_worker",
    "status_of",
]

_DEFAULT_PARTITION = "(default)"


@dataclass(frozen=True)
class BatchSpec:
    """What a batch is: its files, models, agent options (never a key) and limits.

    ``options`` are :class:`~agent.options.AgentOptions` values by name, as JSON.
    """

    tasks: str
    results: str
    models: list[str] = field(default_factory=list)
    options: dict[str, Any] = field(default_factory=dict)
    concurrency: int = 8
    rpm: int | None = None
    max_cost: float | None = None
    units: int = 0
    """How many tasks on models the file made when the batch was last run (for ``status``)."""

    def batch_id(self) -> str:
        """The batch's id: the same for the same files, models and options."""
        identity = json.dumps(
            [self.tasks, self.results, self.models, self.options], sort_keys=True, default=str
        )
        return "b" + hashlib.sha256(identity.encode()).hexdigest()[:11]

    def as_json(self) -> dict[str, Any]:
        """The spec as stored."""
        return asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> BatchSpec:
        """A stored spec."""
        known = {name: value[name] for name in cls.__dataclass_fields__ if name in value}
        return cls(**known)


@dataclass(frozen=True)
class BatchStatus:
    """A batch as ``agent batch status`` and ``list`` show it."""

    id: str
    state: str
    created_at: float
    spec: dict[str, Any]
    total: int
    queued: int
    running: int
    completed: int
    failed: int
    skipped: int
    cancelled: int
    cost: float
    executors: dict[str, int] = field(default_factory=dict)
    """Tasks over, by the process (DBOS executor) that ran their last attempt."""

    def as_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        return {
            "batch": self.id,
            "state": self.state,
            "created_at": datetime.fromtimestamp(self.created_at).isoformat(timespec="seconds"),
            "tasks": self.spec.get("tasks"),
            "results": self.spec.get("results"),
            "models": self.spec.get("models") or [],
            "total": self.total,
            "queued": self.queued,
            "running": self.running,
            "completed": self.completed,
            "failed": self.failed,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "cost": round(self.cost, 6),
            "executors": dict(self.executors),
        }


def _needs_dbos() -> None:
    """Refuse, as a usage error, a durable batch without the ``batch`` extra.

    Raises:
        ConfigError: DBOS is not installed (exit 2).
    """
    import importlib.util

    if importlib.util.find_spec("dbos") is None:
        raise ConfigError(
            "durable batches need DBOS: pip install 'agent[batch]' (or run with --no-durable)",
            source="agent batch",
        )


# -- ids and inputs ---------------------------------------------------------------------------


def task_input(batch_id: str, spec: BatchSpec, unit: Unit, attempt: int) -> dict[str, Any]:
    """What a task's workflow gets: everything needed to run it anywhere, keys excepted."""
    task = unit.task
    payload: dict[str, Any] = {
        "batch": batch_id,
        "workflow": workflow_id(batch_id, unit.key, attempt),
        "id": task.id,
        "model": unit.model,
        "prompt": task.prompt,
        "attempt": attempt,
        "options": spec.options,
    }
    if task.servers is not None:
        payload["servers"] = list(task.servers)
    if task.metadata is not None:
        payload["metadata"] = task.metadata
    if spec.max_cost is not None:
        payload["budget"] = {"max_cost": spec.max_cost, "concurrency": spec.concurrency}
    return payload


def _partition(model: str) -> str:
    return model or _DEFAULT_PARTITION


# -- running and following ----------------------------------------------------------------------


async def _register_queue(batch_id: str, spec: BatchSpec, processes: int = 1) -> Any:
    from dbos import DBOS

    from agent.batch.engine import QUEUE_POLL_SECONDS, queue_name

    # Partitioned by model (each task is enqueued with its model as the key) when each model has
    # a rate limit; a queue without partitions dequeues in one statement, where a partitioned one
    # takes a transaction per model.
    per_model: dict[str, Any] = {}
    if spec.rpm:
        per_model = {
            "partition_concurrency": spec.concurrency,
            "partition_limiter": {"limit": spec.rpm, "period": 60.0},
        }
    if processes > 1:  # each process takes its share, so the batch spreads over all of them
        per_model["worker_concurrency"] = math.ceil(spec.concurrency / processes)
    return await DBOS.register_queue_async(
        queue_name(batch_id),
        global_concurrency=spec.concurrency,
        polling_interval_sec=QUEUE_POLL_SECONDS,
        on_conflict="always_update",
        **per_model,
    )


async def _workflows(batch_id: str, *, outputs: bool = False) -> list[WorkflowStatus]:
    from dbos import DBOS

    rows: list[WorkflowStatus] = await DBOS.list_workflows_async(
        workflow_id_prefix=f"{batch_id}-", load_input=outputs, load_output=outputs
    )
    return rows


def _latest(rows: Sequence[WorkflowStatus]) -> dict[str, WorkflowStatus]:
    """The last attempt of each task, by unit key."""
    latest: dict[str, tuple[int, WorkflowStatus]] = {}
    for row in rows:
        unit_key, attempt = split_workflow(row.workflow_id)
        if unit_key not in latest or attempt > latest[unit_key][0]:
            latest[unit_key] = (attempt, row)
    return {key: row for key, (_, row) in latest.items()}


async def _carry_on(
    engine: Engine,
    batch_id: str,
    spec: BatchSpec,
    work: Sequence[Unit] | None,
    results: ResultsFile,
    on_progress: ProgressSink | None,
    *,
    retry: Callable[[WorkflowStatus], bool] | None = None,
    warm: Callable[[], anyio.Event] | None = None,
    local: LocalWorkers | None = None,
) -> Progress:
    """Queue what is missing (``work``; with ``retry``, new attempts), then follow to the end.

    ``warm`` starts the agents (their servers) and is waited for when there is anything to run:
    a batch carried on with nothing left starts no server. ``local`` worker processes (with
    this one, each takes its share of the queue) run while the batch does.
    """
    from dbos import DBOS, SetEnqueueOptions, SetWorkflowID

    from agent.batch.engine import task_workflow

    queue = await _register_queue(batch_id, spec, 1 + (local.count if local is not None else 0))
    await engine.recover()
    latest = _latest(await _workflows(batch_id, outputs=retry is not None))
    cancelled = [row.workflow_id for row in latest.values() if row.status == "CANCELLED"]
    for workflow in cancelled:  # carried on from their last step
        await DBOS.resume_workflow_async(workflow)
    expected = {key: split_workflow(row.workflow_id)[1] for key, row in latest.items()}
    todo: list[tuple[Unit | dict[str, Any], int]] = []
    for unit in work or ():
        if unit.key not in expected:
            expected[unit.key] = 1
            todo.append((unit, 1))
    if retry is not None:
        for key, row in latest.items():
            if row.status in TERMINAL and retry(row):
                attempt = expected[key] + 1
                expected[key] = attempt
                again = dict(input_of(row), attempt=attempt, workflow=workflow_id(batch_id, key, attempt))
                todo.append((again, attempt))
    if warm is not None and (todo or cancelled or any(r.status not in TERMINAL for r in latest.values())):
        await warm().wait()
    follower = Follower(batch_id, expected, results, on_progress, results_path=str(results.path))
    enqueued = anyio.Event()

    async def enqueue() -> None:
        for item, attempt in todo:
            if isinstance(item, Unit):
                payload, key, model = task_input(batch_id, spec, item, attempt), item.key, item.model
            else:
                payload, key, model = (
                    item,
                    split_workflow(str(item["workflow"]))[0],
                    str(item.get("model") or ""),
                )
            with (
                SetWorkflowID(workflow_id(batch_id, key, attempt)),
                SetEnqueueOptions(queue_partition_key=_partition(model)),
            ):
                await queue.enqueue_async(task_workflow, payload)
        enqueued.set()

    store = engine.store
    assert store is not None
    async with local or contextlib.nullcontext():
        if local is not None:  # the batch's clock starts once they take tasks
            await local.ready(store)
            follower.progress.started = time.monotonic()
        async with anyio.create_task_group() as tg:
            tg.start_soon(enqueue)
            progress = await follower.follow(enqueued)
    state = "cancelled" if progress.cancelled else "done"
    summary = progress.as_json()
    await anyio.to_thread.run_sync(lambda: store.update(batch_id, state=state, summary=summary))
    await DBOS.delete_queue_async(queue.name)
    return progress


async def run_batch(
    spec: BatchSpec,
    *,
    database: str | None,
    env: Mapping[str, str],
    cwd: Path | None = None,
    on_progress: ProgressSink | None = None,
    on_start: Callable[[str, bool], None] | None = None,
    verbose: bool = False,
    workers: int = 1,
) -> Progress:
    """Run the batch ``spec`` (or carry it on: a batch is known by its id) to the end.

    ``on_start`` hears the batch id and whether it is new, once the batch is stored. ``workers``
    processes run its tasks: this one and ``workers - 1`` local workers
    (:mod:`agent.batch.local_workers`).

    Raises:
        ConfigError: a bad tasks file (``FILE:LINE``), an unwritable results file, a bad
            database URL or options (exit 2).
    """
    _needs_dbos()
    from agent.batch.engine import Engine, database_url, queue_name
    from agent.batch.runner import TaskRunner, shards_for

    work = units(read_tasks(Path(spec.tasks)), spec.models)
    spec = dataclasses.replace(spec, units=len(work))
    batch_id = spec.batch_id()
    results = ResultsFile(Path(spec.results))
    try:
        url = database_url(database, env, cwd)
        shards = shards_for(math.ceil(spec.concurrency / workers))
        async with TaskRunner(durable=True, shards=shards, cwd=cwd, env=env) as runner:
            warm = _warmer(runner, spec.options)
            if len(results.written) < len(work):  # work left, surely: the servers start while DBOS does
                warm()
            async with Engine(url, runner=runner, listen=[queue_name(batch_id)], verbose=verbose) as engine:
                store = engine.store
                assert store is not None
                _, created = await anyio.to_thread.run_sync(lambda: store.create(batch_id, spec.as_json()))
                if not created:  # limits may change when a batch is carried on
                    await anyio.to_thread.run_sync(
                        lambda: store.update(batch_id, state="running", spec=spec.as_json())
                    )
                if on_start is not None:
                    on_start(batch_id, created)
                local = _local_workers(workers, batch_id, url, env, cwd, verbose)
                return await _carry_on(
                    engine, batch_id, spec, work, results, on_progress, warm=warm, local=local
                )
    finally:
        results.close()


def _local_workers(
    workers: int, batch_id: str, url: str, env: Mapping[str, str], cwd: Path | None, verbose: bool
) -> LocalWorkers | None:
    """The ``workers - 1`` local worker processes of a batch run by ``workers`` processes (or None)."""
    if workers <= 1:
        return None
    from agent.batch.local_workers import LocalWorkers

    return LocalWorkers(workers - 1, batch_id, url, env=env, cwd=cwd, verbose=verbose)


def _warmer(runner: TaskRunner, options: Mapping[str, Any]) -> Callable[[], anyio.Event]:
    """Starts the agents for ``options`` once, when first asked; the event is set once they are up."""
    started: list[anyio.Event] = []

    def warm() -> anyio.Event:
        if not started:
            started.append(runner.warm(options))
        return started[0]

    return warm


async def _with_batch(
    batch: str,
    database: str | None,
    env: Mapping[str, str],
    cwd: Path | None,
    body: Callable[..., Any],
    *,
    runner: bool = True,
    verbose: bool = False,
    workers: int = 1,
) -> Any:
    """Open the database, find ``batch`` (an id or the start of one), and run ``body`` on it.

    ``body`` gets the engine and the batch, and with ``runner`` what starts its agents and the
    local workers to run beside this process (``workers - 1`` of them, or None).
    """
    _needs_dbos()
    from agent.batch.engine import Engine, database_url, find_batch, queue_name
    from agent.batch.runner import TaskRunner, shards_for

    url = database_url(database, env, cwd)
    record = await anyio.to_thread.run_sync(find_batch, url, batch)
    if not runner:
        async with Engine(url, listen=[], verbose=verbose) as engine:
            return await body(engine, record)
    shards = shards_for(math.ceil(int(record.spec.get("concurrency") or 1) / workers))
    local = _local_workers(workers, record.id, url, env, cwd, verbose)
    async with (
        TaskRunner(durable=True, shards=shards, cwd=cwd, env=env) as task_runner,
        Engine(url, runner=task_runner, listen=[queue_name(record.id)], verbose=verbose) as engine,
    ):
        return await body(engine, record, _warmer(task_runner, record.spec.get("options") or {}), local)


async def resume_batch(
    batch: str,
    *,
    database: str | None,
    env: Mapping[str, str],
    cwd: Path | None = None,
    results: Path | None = None,
    on_progress: ProgressSink | None = None,
    verbose: bool = False,
    workers: int = 1,
) -> Progress:
    """Carry on batch ``batch`` after a crash, ``kill -9`` or ``cancel``: finished tasks are not run again.

    The tasks file, when it is still there, is read again (tasks added to it are run too).
    """
    return await _follow_stored(
        batch, database, env, cwd, results, on_progress, verbose, retry=None, workers=workers
    )


async def retry_batch(
    batch: str,
    *,
    database: str | None,
    env: Mapping[str, str],
    cwd: Path | None = None,
    results: Path | None = None,
    max_cost: float | None = None,
    on_progress: ProgressSink | None = None,
    verbose: bool = False,
    workers: int = 1,
) -> Progress:
    """Run again (a new attempt each) the tasks of ``batch`` that failed or the budget did not start."""

    def failed(row: WorkflowStatus) -> bool:
        output = row.output if isinstance(row.output, dict) else {}
        return row.status != "SUCCESS" or output.get("state") != "completed"

    return await _follow_stored(
        batch,
        database,
        env,
        cwd,
        results,
        on_progress,
        verbose,
        retry=failed,
        max_cost=max_cost,
        workers=workers,
    )


async def _follow_stored(
    batch: str,
    database: str | None,
    env: Mapping[str, str],
    cwd: Path | None,
    results_path: Path | None,
    on_progress: ProgressSink | None,
    verbose: bool,
    *,
    retry: Callable[[WorkflowStatus], bool] | None,
    max_cost: float | None = None,
    workers: int = 1,
) -> Progress:
    async def body(
        engine: Engine, record: BatchRecord, warm: Callable[[], anyio.Event], local: LocalWorkers | None
    ) -> Progress:
        spec = BatchSpec.from_json(record.spec)
        if max_cost is not None:
            spec = BatchSpec.from_json({**spec.as_json(), "max_cost": max_cost})
        store = engine.store
        assert store is not None
        await anyio.to_thread.run_sync(lambda: store.update(record.id, state="running", spec=spec.as_json()))
        work: list[Unit] | None = None
        if await anyio.Path(spec.tasks).is_file():
            work = units(read_tasks(Path(spec.tasks)), spec.models)
            spec = dataclasses.replace(spec, units=len(work))
        results = ResultsFile(results_path or Path(spec.results))
        try:
            return await _carry_on(
                engine, record.id, spec, work, results, on_progress, retry=retry, warm=warm, local=local
            )
        finally:
            results.close()

    progress: Progress = await _with_batch(batch, database, env, cwd, body, verbose=verbose, workers=workers)
    return progress


async def cancel_batch(
    batch: str, *, database: str | None, env: Mapping[str, str], cwd: Path | None = None
) -> tuple[str, int]:
    """Cancel every task of ``batch`` not over yet; (the batch id, how many were cancelled)."""
    _needs_dbos()
    from dbos import DBOS

    from agent.batch.engine import queue_name

    async def body(engine: Engine, record: BatchRecord) -> tuple[str, int]:
        rows = _latest(await _workflows(record.id))
        open_ = [row.workflow_id for row in rows.values() if row.status not in TERMINAL]
        if open_:
            await DBOS.cancel_workflows_async(open_)
        store = engine.store
        assert store is not None
        await anyio.to_thread.run_sync(lambda: store.update(record.id, state="cancelled"))
        await DBOS.delete_queue_async(queue_name(record.id))
        return record.id, len(open_)

    answer: tuple[str, int] = await _with_batch(batch, database, env, cwd, body, runner=False)
    return answer


async def status_of(
    batch: str, *, database: str | None, env: Mapping[str, str], cwd: Path | None = None
) -> BatchStatus:
    """Where batch ``batch`` stands, from its workflows."""

    async def body(engine: Engine, record: BatchRecord) -> BatchStatus:
        return _status(record, _latest(await _workflows(record.id, outputs=True)))

    status: BatchStatus = await _with_batch(batch, database, env, cwd, body, runner=False)
    return status


async def list_batches(
    *, database: str | None, env: Mapping[str, str], cwd: Path | None = None, limit: int = 20
) -> list[BatchStatus]:
    """The batches of the database, newest first, each with its counts."""
    _needs_dbos()
    from agent.batch.engine import Engine, database_url

    url = database_url(database, env, cwd)
    async with Engine(url, listen=[]) as engine:
        store = engine.store
        assert store is not None
        records = await anyio.to_thread.run_sync(lambda: store.all(limit))
        return [_status(record, _latest(await _workflows(record.id, outputs=True))) for record in records]


def _status(record: BatchRecord, latest: Mapping[str, WorkflowStatus]) -> BatchStatus:
    counts = {"queued": 0, "running": 0, "completed": 0, "failed": 0, "skipped": 0, "cancelled": 0}
    cost = 0.0
    executors: dict[str, int] = {}
    for row in latest.values():
        output = row.output if isinstance(row.output, dict) else {}
        if row.status in TERMINAL and row.executor_id:
            executors[row.executor_id] = executors.get(row.executor_id, 0) + 1
        if row.status in ("ENQUEUED", "DELAYED"):
            counts["queued"] += 1
        elif row.status == "PENDING":
            counts["running"] += 1
        elif row.status == "CANCELLED":
            counts["cancelled"] += 1
        elif row.status == "SUCCESS" and output.get("state") in ("completed", "skipped"):
            counts[str(output["state"])] += 1
        else:
            counts["failed"] += 1
        result = output.get("result")
        if isinstance(result, dict):
            cost += float((result.get("usage") or {}).get("cost") or 0.0)
    state = record.state
    if state == "running" and not counts["queued"] and not counts["running"]:
        state = "stopped" if len(latest) < int(record.spec.get("units", 0) or 0) else "done"
    return BatchStatus(
        id=record.id,
        state=state,
        created_at=record.created_at,
        spec=record.spec,
        total=len(latest),
        cost=cost,
        executors=executors,
        **counts,
    )


# -- a worker ---------------------------------------------------------------------------------


@dataclass
class WorkerProgress:
    """What a worker has done since it started."""

    executor_id: str = ""
    completed: int = 0
    failed: int = 0
    running: int = 0


async def run_worker(
    *,
    database: str | None,
    env: Mapping[str, str],
    cwd: Path | None = None,
    on_progress: Callable[[WorkerProgress], None] | None = None,
    verbose: bool = False,
    batch: str | None = None,
    parent: int | None = None,
) -> None:
    """Take tasks of every batch of the database (or of ``batch`` only) until cancelled (Ctrl-C, SIGTERM).

    With ``batch`` the worker returns once that batch is no longer running (over, cancelled,
    or stopped). With ``parent`` (a local worker, :mod:`agent.batch.local_workers`) it stops as
    on SIGTERM once that process is gone: its running tasks go back to the queue.
    """
    _needs_dbos()
    from agent.batch.engine import Engine, database_url, find_batch, queue_name
    from agent.batch.runner import TaskRunner, shards_for

    url = database_url(database, env, cwd)
    progress = WorkerProgress()
    listen: list[str] | None = None
    shards = shards_for(64)  # a worker takes tasks of any batch: room for a busy one
    record: BatchRecord | None = None
    if batch is not None:
        record = await anyio.to_thread.run_sync(find_batch, url, batch)
        listen = [queue_name(record.id)]
        shards = shards_for(int(record.spec.get("concurrency") or 1))
    async with TaskRunner(durable=True, shards=shards, cwd=cwd, env=env) as runner:
        if record is not None:  # its servers up before it takes a task (and says it is ready)
            await runner.warm(record.spec.get("options") or {}).wait()
        async with Engine(url, runner=runner, listen=listen, verbose=verbose) as engine:
            await _work(runner, engine, progress, on_progress, record, parent)


async def _work(
    runner: TaskRunner,
    engine: Engine,
    progress: WorkerProgress,
    on_progress: Callable[[WorkerProgress], None] | None,
    record: BatchRecord | None,
    parent: int | None,
) -> None:
    """A worker's life once it takes tasks: report, and stop when its batch or its parent is gone."""
    progress.executor_id = engine.executor_id
    ticks = 0
    while True:
        progress.completed, progress.failed = runner.completed, runner.failed
        progress.running = runner.running
        if on_progress is not None:
            on_progress(progress)
        if parent is not None and os.getppid() != parent:
            raise KeyboardInterrupt  # as SIGTERM: the tasks running here go back to the queue
        if record is not None and ticks % 4 == 0 and not await _running(engine, record.id):
            return
        ticks += 1
        await anyio.sleep(0.5)


async def _running(engine: Engine, batch_id: str) -> bool:
    """Whether the batch is still being run (its state, as whoever runs it keeps it)."""
    store = engine.store
    assert store is not None
    record = await anyio.to_thread.run_sync(store.find, batch_id)
    return record.state == "running"
