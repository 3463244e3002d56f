"""A batch without durability (``--no-durable``): a plain in-process pool of the same concurrency.

Nothing is stored but the results file; the floor the durable batch is measured against
(``benchmarks/batch_bench.py``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from agent.batch.batch import BatchSpec, task_input
from agent.batch.follow import Progress, ProgressSink, results_line
from agent.batch.results import ResultsFile
from agent.batch.tasks import Unit, read_tasks, units
from agent.errors import AgentError

__all__ = ["run_plain"]


async def run_plain(
    spec: BatchSpec,
    *,
    env: Mapping[str, str],
    cwd: Path | None = None,
    on_progress: ProgressSink | None = None,
) -> Progress:
    """Run ``spec`` in an in-process pool of ``spec.concurrency``; only the results file is kept.

    A task whose line the results file already has (first attempt) is not run again.
    """
    from agent.batch.runner import TaskRunner, shards_for

    work = units(read_tasks(Path(spec.tasks)), spec.models)
    batch_id = spec.batch_id()
    results = ResultsFile(Path(spec.results))
    progress = Progress(batch_id, total=len(work), results=str(results.path))
    limiter = anyio.CapacityLimiter(spec.concurrency)
    pacers: dict[str, _Pacer] = {}
    pending: list[dict[str, Any]] = []

    async def one(runner: TaskRunner, unit: Unit) -> None:
        task = task_input(batch_id, spec, unit, 1)
        async with limiter:
            if spec.rpm:
                await pacers.setdefault(unit.model, _Pacer(spec.rpm)).wait()
            progress.running += 1
            try:
                output = await runner.run(task)
            finally:
                progress.running -= 1
        state = output["state"]
        result = output.get("result") or {}
        progress.cost += float((result.get("usage") or {}).get("cost") or 0.0)
        progress.done_this_run += 1
        if state == "skipped":
            progress.skipped += 1
            return
        if state == "completed":
            progress.completed += 1
        else:
            progress.failed += 1
            progress.budget_stopped += bool(spec.max_cost and result.get("stop_reason") == "max_cost")
        pending.append(results_line(task, output))

    async def flush() -> None:
        lines = pending[:]
        del pending[:]
        if lines:
            progress.written += await anyio.to_thread.run_sync(results.write, lines)

    async def writer() -> None:  # a group of lines at a time: one fsync per group
        while True:
            await anyio.sleep(0.1)
            await flush()
            if on_progress is not None:
                on_progress(progress)

    try:
        runner_cm = TaskRunner(durable=False, shards=shards_for(spec.concurrency), cwd=cwd, env=env)
        async with runner_cm as runner, anyio.create_task_group() as tg:
            await runner.warm(spec.options).wait()
            default_model = ""
            with contextlib.suppress(AgentError):
                default_model = (await runner.agent(spec.options, None)).model_id
            todo = [u for u in work if (u.task.id, u.model or default_model, 1) not in results]
            progress.completed = len(work) - len(todo)
            progress.started = time.monotonic()
            tg.start_soon(writer)
            async with anyio.create_task_group() as units_group:
                for unit in todo:
                    units_group.start_soon(one, runner, unit)
            tg.cancel_scope.cancel()
        await flush()
    finally:
        results.close()
    if on_progress is not None:
        on_progress(progress)
    return progress


class _Pacer:
    """At most ``per_minute`` starts a minute, evenly spaced (``--rpm`` without durability)."""

    def __init__(self, per_minute: int) -> None:
        self.gap = 60.0 / per_minute
        self.next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        start = max(now, self.next)
        self.next = start + self.gap
        if start > now:
            await anyio.sleep(start - now)
