"""Worker processes on this machine for one batch (``agent batch run --workers N``).

One Python process runs its tasks on one core: DBOS's bookkeeping and the agents' HTTP and
JSON work share one interpreter lock. ``--workers N`` starts N - 1 more processes, each an
``agent batch worker --batch ID`` on the same database, so a batch uses N cores. They take tasks
from the batch's queue like workers on other machines (DBOS's queue keeps ``--concurrency``
across all of them) and stop when the process that started them ends, however it ends: it stops
them when the batch is over or interrupted, and a worker whose parent is gone (``kill -9``)
stops by itself within half a second. Their unfinished tasks go back to the queue then.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import anyio

if TYPE_CHECKING:
    from agent.batch.store import BatchStore

__all__ = ["LocalWorkers", "worker_command"]

READY_SECONDS = 60.0
"""How long the batch waits for its local workers to take tasks before it starts without them."""
STOP_SECONDS = 15.0
"""How long a worker has to hand its tasks back after SIGTERM before it is killed."""


def worker_command(batch_id: str, *, parent: int, verbose: bool = False) -> list[str]:
    """The command line of one local worker of ``batch_id`` (its database comes in its environment)."""
    command = [sys.executable, "-m", "agent", "batch", "worker", "--batch", batch_id, "--parent", str(parent)]
    return [*command, "--verbose"] if verbose else command


class LocalWorkers:
    """``count`` worker processes of one batch, for the time of an ``async with``.

    Args:
        count: how many to start (0: none).
        batch_id: the batch whose queue they take tasks from.
        database_url: the batch database, handed over as ``AGENT_DATABASE_URL`` in their
            environment: a password in it never shows in a command line (``ps``).
        env: their environment (keys included: a task never carries one).
        cwd: their working directory (the batch's).
        verbose: let their own messages through on stderr (else they are quiet).
    """

    def __init__(
        self,
        count: int,
        batch_id: str,
        database_url: str,
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        verbose: bool = False,
    ) -> None:
        self.count = count
        self.command = worker_command(batch_id, parent=os.getpid(), verbose=verbose)
        self.env = {**env, "AGENT_DATABASE_URL": database_url}
        self.cwd = cwd
        self.verbose = verbose
        self.procs: list[subprocess.Popen[bytes]] = []

    async def __aenter__(self) -> LocalWorkers:
        await anyio.to_thread.run_sync(self.start)
        return self

    def start(self) -> None:
        """Start the workers (blocking)."""
        for _ in range(self.count):
            self.procs.append(
                subprocess.Popen(
                    self.command,
                    env=self.env,
                    cwd=self.cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=None if self.verbose else subprocess.DEVNULL,
                    # Not in this terminal's process group: a Ctrl-C reaches this process, which
                    # stops them in order (their running tasks back to the queue, then this one).
                    start_new_session=True,
                )
            )

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)

    async def ready(self, store: BatchStore) -> int:
        """Wait until each worker takes tasks (or has ended, or :data:`READY_SECONDS`); how many do."""
        pids = {proc.pid for proc in self.procs}
        with anyio.move_on_after(READY_SECONDS):
            while True:
                up = pids & await anyio.to_thread.run_sync(store.pids_here)
                if len(up) + sum(proc.poll() is not None for proc in self.procs) >= len(pids):
                    return len(up)
                await anyio.sleep(0.1)
        return len(pids & await anyio.to_thread.run_sync(store.pids_here))

    def stop(self) -> None:
        """SIGTERM each worker, wait for it, and kill the ones that do not stop in time (blocking)."""
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
