"""What a batch keeps besides DBOS's own tables, in the same database: batches, workers, budget.

``agent_batches``: each batch's id, when it was made, its spec (the tasks and results files,
models, options, limits; never a key) and its state. ``agent_batch_executors``: every process
that runs tasks, with a heartbeat, so a process that died (``kill -9``, a lost machine) is
noticed and its tasks handed back to the queue. ``agent_batch_budget``: with ``--max-cost``, what
each task has reserved and spent, read and changed under one lock per batch.

Every method is blocking (the callers run them in a thread).
"""

from __future__ import annotations

import functools
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from agent.batch.budget import Reservation, share
from agent.errors import ConfigError

__all__ = ["BatchRecord", "BatchStore", "Reservation"]

_META = sa.MetaData()
BATCHES = sa.Table(
    "agent_batches",
    _META,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("summary", sa.Text, nullable=True),
)
EXECUTORS = sa.Table(
    "agent_batch_executors",
    _META,
    sa.Column("executor_id", sa.Text, primary_key=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("seen_at", sa.Float, nullable=False),
)
BUDGET = sa.Table(
    "agent_batch_budget",
    _META,
    sa.Column("batch_id", sa.Text, primary_key=True),
    sa.Column("workflow_id", sa.Text, primary_key=True),
    sa.Column("reserved", sa.Float, nullable=False),
    sa.Column("spent", sa.Float, nullable=True),
)


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One batch as stored."""

    id: str
    created_at: float
    updated_at: float
    state: str
    spec: dict[str, Any]
    summary: dict[str, Any] | None


class BatchStore:
    """The batch tables on ``engine`` (created when missing)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        _META.create_all(engine, checkfirst=True)

    # -- batches -----------------------------------------------------------------------------

    def create(self, batch_id: str, spec: dict[str, Any]) -> tuple[BatchRecord, bool]:
        """The batch ``batch_id``, made with ``spec`` unless it exists; whether it was made now."""
        now = time.time()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(BATCHES).where(BATCHES.c.id == batch_id)).first()
            if row is not None:
                return _record(row), False
            conn.execute(
                sa.insert(BATCHES).values(
                    id=batch_id, created_at=now, updated_at=now, state="running", spec=json.dumps(spec)
                )
            )
        return BatchRecord(batch_id, now, now, "running", spec, None), True

    def find(self, prefix: str) -> BatchRecord:
        """The batch whose id is or starts with ``prefix``.

        Raises:
            ConfigError: no batch, or several, match (exit 2).
        """
        prefix = prefix.strip()
        if not prefix:
            raise ConfigError("give a batch id", source="ID")
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(BATCHES).where(BATCHES.c.id.like(escaped + "%", escape="\\")).limit(3)
            ).all()
        exact = [row for row in rows if row.id == prefix]
        if exact:
            return _record(exact[0])
        if not rows:
            raise ConfigError(f"no batch {prefix!r} (see `agent batch list`)", source="ID")
        if len(rows) > 1:
            raise ConfigError(f"{prefix!r} is the start of several batch ids; give more of it", source="ID")
        return _record(rows[0])

    def all(self, limit: int = 50) -> list[BatchRecord]:
        """The batches, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(BATCHES).order_by(BATCHES.c.created_at.desc()).limit(limit)).all()
        return [_record(row) for row in rows]

    def update(
        self,
        batch_id: str,
        *,
        state: str | None = None,
        spec: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        """Change a batch's state, spec or summary."""
        values: dict[str, Any] = {"updated_at": time.time()}
        if state is not None:
            values["state"] = state
        if spec is not None:
            values["spec"] = json.dumps(spec)
        if summary is not None:
            values["summary"] = json.dumps(summary)
        with self.engine.begin() as conn:
            conn.execute(sa.update(BATCHES).where(BATCHES.c.id == batch_id).values(**values))

    # -- executors ---------------------------------------------------------------------------

    def heartbeat(self, executor_id: str) -> None:
        """Say that ``executor_id`` (this process) is alive."""
        now = time.time()
        with self.engine.begin() as conn:
            done = conn.execute(
                sa.update(EXECUTORS).where(EXECUTORS.c.executor_id == executor_id).values(seen_at=now)
            ).rowcount
            if not done:
                conn.execute(
                    sa.insert(EXECUTORS).values(
                        executor_id=executor_id, host=machine(), pid=os.getpid(), seen_at=now
                    )
                )

    def pids_here(self) -> set[int]:
        """The process ids of the executors of this host (processes taking tasks here)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(EXECUTORS.c.pid).where(EXECUTORS.c.host == machine())).all()
        return {int(row.pid) for row in rows}

    def dead_executors(self, *, stale_after: float, alive: str) -> list[str]:
        """Processes that stopped beating ``stale_after`` seconds ago, or that are gone from this host."""
        host, now = machine(), time.time()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(EXECUTORS)).all()
        dead = []
        for row in rows:
            if row.executor_id == alive:
                continue
            gone = row.host == host and not _pid_alive(row.pid)
            if gone or now - row.seen_at > stale_after:
                dead.append(row.executor_id)
        return dead

    def forget_executor(self, executor_id: str) -> None:
        """Stop tracking ``executor_id`` (its work was handed back, or it stopped cleanly)."""
        with self.engine.begin() as conn:
            conn.execute(sa.delete(EXECUTORS).where(EXECUTORS.c.executor_id == executor_id))

    # -- budget ------------------------------------------------------------------------------

    def reserve(self, batch_id: str, workflow_id: str, *, budget: float, concurrency: int) -> Reservation:
        """Let a task start if the batch can afford it: spent + reserved + its share within ``budget``.

        Its share is :func:`agent.batch.budget.share`. Asking again for the same task (a step
        run again after a crash) gives the same answer.
        """
        with self.engine.begin() as conn:
            # The batch row is the lock: Postgres locks it, SQLite takes its write lock.
            conn.execute(sa.update(BATCHES).where(BATCHES.c.id == batch_id).values(updated_at=time.time()))
            rows = conn.execute(sa.select(BUDGET).where(BUDGET.c.batch_id == batch_id)).all()
            spent = sum(row.spent or 0.0 for row in rows if row.spent is not None)
            mine = next((row for row in rows if row.workflow_id == workflow_id), None)
            if mine is not None:
                return Reservation(mine.reserved > 0, mine.reserved, spent)
            reserved = sum(row.reserved for row in rows if row.spent is None)
            settled = [row.spent for row in rows if row.spent is not None and row.reserved > 0]
            cap = share(budget, concurrency, spent, reserved, settled)
            allowed = cap > 1e-9
            conn.execute(
                sa.insert(BUDGET).values(
                    batch_id=batch_id,
                    workflow_id=workflow_id,
                    reserved=cap if allowed else 0.0,
                    spent=None if allowed else 0.0,
                )
            )
        return Reservation(allowed, max(cap, 0.0), spent)

    def settle(self, batch_id: str, workflow_id: str, cost: float) -> None:
        """Record what a task spent; its reservation is released."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(BUDGET)
                .where(BUDGET.c.batch_id == batch_id, BUDGET.c.workflow_id == workflow_id)
                .values(spent=cost)
            )

    def spending(self, batch_id: str) -> tuple[float, float, int]:
        """What the batch has spent and reserved, and how many tasks have settled."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(BUDGET).where(BUDGET.c.batch_id == batch_id)).all()
        spent = sum(row.spent for row in rows if row.spent is not None)
        reserved = sum(row.reserved for row in rows if row.spent is None)
        return spent, reserved, sum(1 for row in rows if row.spent is not None and row.reserved > 0)


def _record(row: Any) -> BatchRecord:
    return BatchRecord(
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        state=row.state,
        spec=json.loads(row.spec),
        summary=json.loads(row.summary) if row.summary else None,
    )


@functools.cache
def machine() -> str:
    """This machine: its host name and machine id (host names alone repeat across containers)."""
    try:
        ident = Path("/etc/machine-id").read_text().strip()[:12]
    except OSError:
        ident = ""
    return f"{socket.gethostname()}:{ident or format(uuid.getnode(), 'x')}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
