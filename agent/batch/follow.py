"""Following a batch: where it stands (:class:`Progress`), and the results lines of finished tasks.

Whoever runs a batch (``run``, ``resume``, ``retry``) follows it with a :class:`Follower`: it polls
the workflows of the batch that ended since its last look (whichever process ran them), writes
each finished task's line to the results file, and counts tasks by outcome. A batch is over when
the attempt that counts of every task has ended.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio

from agent.batch.results import ResultsFile

if TYPE_CHECKING:
    from dbos import WorkflowStatus

__all__ = [
    "TERMINAL",
    "Follower",
    "Progress",
    "ProgressSink",
    "input_of",
    "results_line",
    "split_workflow",
    "workflow_id",
]

TERMINAL = ("SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")
"""The DBOS workflow states of a task that is over."""
POLL_SECONDS = 0.25
_COUNT_SECONDS = 1.0


@dataclass
class Progress:
    """Where a batch stands, as its follower sees it."""

    batch_id: str
    total: int
    results: str = ""
    completed: int = 0
    failed: int = 0
    skipped: int = 0
    cancelled: int = 0
    running: int = 0
    written: int = 0
    cost: float = 0.0
    budget_stopped: int = 0
    started: float = field(default_factory=time.monotonic)
    done_this_run: int = 0

    @property
    def finished(self) -> int:
        """Tasks that are over: completed, failed, not started for the budget, or cancelled."""
        return self.completed + self.failed + self.skipped + self.cancelled

    def rate(self) -> float:
        """Tasks finished per second by this run so far."""
        elapsed = time.monotonic() - self.started
        return self.done_this_run / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds until every task is over, at this run's rate (None: unknown yet)."""
        rate = self.rate()
        left = self.total - self.finished
        return left / rate if rate > 0 and left > 0 else (0.0 if left <= 0 else None)

    def exit_code(self) -> int:
        """0 every task completed; 3 the budget stopped some; 1 some failed or were cancelled."""
        if self.skipped or self.budget_stopped:
            return 3
        if self.failed or self.cancelled or self.completed < self.total:
            return 1
        return 0

    def as_json(self) -> dict[str, Any]:
        """The summary ``--json`` prints."""
        return {
            "batch": self.batch_id,
            "total": self.total,
            "completed": self.completed,
            "failed": self.failed,
            "skipped": self.skipped,
            "cancelled": self.cancelled,
            "cost": round(self.cost, 6),
            "results": self.results,
            "written": self.written,
            "duration_s": round(time.monotonic() - self.started, 3),
            "exit_code": self.exit_code(),
        }


ProgressSink = Callable[[Progress], None]


def workflow_id(batch_id: str, unit_key: str, attempt: int) -> str:
    """The workflow of one attempt of one task on one model."""
    return f"{batch_id}-{unit_key}-{attempt}"


def split_workflow(workflow: str) -> tuple[str, int]:
    """(unit key, attempt) of a workflow id."""
    _, unit_key, attempt = workflow.rsplit("-", 2)
    return unit_key, int(attempt)


def results_line(task: Mapping[str, Any], output: Mapping[str, Any]) -> dict[str, Any]:
    """The results-file line of a finished task: its input and its workflow's output."""
    return {
        "id": task.get("id"),
        "model": output.get("model") or task.get("model") or "",
        "attempt": task.get("attempt", 1),
        "result": output.get("result"),
        "metadata": task.get("metadata"),
    }


class Follower:
    """Watches a batch's workflows until every task's last attempt is over; writes their lines."""

    def __init__(
        self,
        batch_id: str,
        expected: dict[str, int],
        results: ResultsFile | None,
        on_progress: ProgressSink | None,
        *,
        results_path: str = "",
    ) -> None:
        self.batch_id = batch_id
        self.expected = expected  # unit key -> the attempt that counts
        self.results = results
        self.on_progress = on_progress
        self.progress = Progress(batch_id, total=len(expected), results=results_path)
        self.state: dict[str, tuple[str, float]] = {}  # unit key -> (outcome, cost) of its attempt
        self.seen: dict[str, str] = {}  # workflow id -> status handled
        self.since_ms: float | None = None
        self.first = True

    def expect(self, unit_key: str, attempt: int) -> None:
        """A task (or a new attempt of one) now counts."""
        self.expected[unit_key] = attempt
        self.state.pop(unit_key, None)
        self.progress.total = len(self.expected)

    async def poll(self) -> None:
        """Take in every workflow that ended since the last poll.

        The ids come first (completion times may be whole seconds: the last seconds are looked at
        again), then the inputs and outputs of the new ones only.
        """
        from dbos import DBOS

        after = None
        if self.since_ms is not None:
            after = datetime.fromtimestamp(self.since_ms / 1000 - 2.0).isoformat()
        ended = await DBOS.list_workflows_async(
            workflow_id_prefix=f"{self.batch_id}-",
            status=list(TERMINAL),
            completed_after=after,
            load_input=False,
            load_output=False,
        )
        new = [row.workflow_id for row in ended if self.seen.get(row.workflow_id) != row.status]
        rows = []
        if new:
            rows = await DBOS.list_workflows_async(workflow_ids=new, load_input=True, load_output=True)
        lines: list[dict[str, Any]] = []
        for row in rows:
            if self.seen.get(row.workflow_id) == row.status or row.status not in TERMINAL:
                continue
            self.seen[row.workflow_id] = row.status
            if row.completed_at is not None:
                self.since_ms = max(self.since_ms or 0.0, float(row.completed_at))
            line = self._take(row)
            if line is not None:
                lines.append(line)
        if lines and self.results is not None:
            results = self.results
            self.progress.written += await anyio.to_thread.run_sync(results.write, lines)
        self._count()

    def _take(self, row: WorkflowStatus) -> dict[str, Any] | None:
        unit_key, attempt = split_workflow(row.workflow_id)
        if self.expected.get(unit_key) != attempt:
            return None
        task = input_of(row)
        output = row.output if isinstance(row.output, dict) else {}
        if row.status == "SUCCESS":
            outcome = str(output.get("state", "failed"))
        elif row.status == "CANCELLED":
            outcome = "cancelled"
        else:  # the workflow itself failed (a bug, or too many recoveries): the task failed
            outcome = "failed"
            output = {"model": task.get("model"), "result": _error_result(row)}
        result = output.get("result") if isinstance(output.get("result"), dict) else None
        cost = float(((result or {}).get("usage") or {}).get("cost") or 0.0)
        if result is not None and task.get("budget") and result.get("stop_reason") == "max_cost":
            outcome = "budget"
        self.state[unit_key] = (outcome, cost)
        self.progress.done_this_run += 1
        if outcome in ("skipped", "cancelled") or result is None:
            return None
        return results_line(task, output)

    def _count(self) -> None:
        progress = self.progress
        counts = {"completed": 0, "failed": 0, "skipped": 0, "cancelled": 0, "budget": 0}
        cost = 0.0
        for outcome, spent in self.state.values():
            counts[outcome] = counts.get(outcome, 0) + 1
            cost += spent
        progress.completed = counts["completed"]
        progress.failed = counts["failed"] + counts["budget"]
        progress.budget_stopped = counts["budget"]
        progress.skipped = counts["skipped"]
        progress.cancelled = counts["cancelled"]
        progress.cost = cost

    @property
    def done(self) -> bool:
        """Whether every task's attempt that counts is over."""
        return len(self.state) >= len(self.expected)

    async def running(self) -> None:
        """Count the tasks being run now (by any process)."""
        from dbos import DBOS

        rows = await DBOS.list_workflows_async(
            workflow_id_prefix=f"{self.batch_id}-", status="PENDING", load_input=False, load_output=False
        )
        self.progress.running = len(rows)

    async def follow(self, enqueued: anyio.Event | None = None) -> Progress:
        """Poll until the batch is over (and, if given, ``enqueued`` is set); the final progress."""
        last_count = 0.0
        while True:
            await self.poll()
            now = time.monotonic()
            if now - last_count >= _COUNT_SECONDS:
                last_count = now
                await self.running()
            if self.on_progress is not None:
                self.on_progress(self.progress)
            if self.done and (enqueued is None or enqueued.is_set()):
                self.progress.running = 0
                return self.progress
            await anyio.sleep(POLL_SECONDS)


def input_of(row: WorkflowStatus) -> dict[str, Any]:
    """The task a workflow was given (its one argument)."""
    inputs = row.input or {"args": (), "kwargs": {}}
    args = inputs.get("args") or ()
    value = args[0] if args else inputs.get("kwargs", {}).get("task")
    return value if isinstance(value, dict) else {}


def _error_result(row: WorkflowStatus) -> dict[str, Any]:
    from agent.result import ErrorInfo, RunResult

    message = " ".join(str(row.error or row.status).split())[:500]
    result = RunResult(stop_reason="error", error=ErrorInfo(type="BatchTaskError", message=message))
    return result.model_dump(mode="json")
