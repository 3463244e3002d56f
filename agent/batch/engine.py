"""DBOS in this process: the system database, the task workflow, its queues, heartbeats, recovery.

One :class:`Engine` per process (DBOS is a process-wide singleton). Entering it launches DBOS on
the running event loop (workflows run there, next to the agents they use), makes this process
known to the other processes of the database (a heartbeat), and hands the tasks of processes
that died back to their queues. The task workflow (:func:`task_workflow`) runs one task on one
model through a :class:`~agent.batch.runner.TaskRunner`.

The database is ``--database-url``, else ``$AGENT_DATABASE_URL``, else an SQLite file in the user
data directory. SQLite is opened in WAL mode through one connection: the process's database
work queues on the pool, not on SQLite's busy-wait.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, DBOSPortableJSONSerializer

from agent.batch.store import BatchRecord, BatchStore
from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.batch.runner import TaskRunner

__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "DEFAULT_DATABASE",
    "Engine",
    "database_url",
    "find_batch",
    "queue_name",
    "task_workflow",
]

APP_NAME = "agent"
APP_VERSION = "agent-batch-1"
"""Fixed, so any version of the runtime carries on a batch (DBOS would hash the code otherwise)."""
DEFAULT_DATABASE = "batches.sqlite"
QUEUE_POLL_SECONDS = 0.05
LISTENER_POLL_SECONDS = 0.1
HEARTBEAT_SECONDS = 2.0
STALE_AFTER_SECONDS = 15.0
"""A process whose heartbeat is this old is taken for dead, and its tasks are queued again."""
SWEEP_SECONDS = 5.0

_runner: TaskRunner | None = None


def database_url(given: str | None, env: Mapping[str, str], cwd: Path | None = None) -> str:
    """The system database: ``given``, else ``$AGENT_DATABASE_URL``, else SQLite in the user data dir.

    Raises:
        ConfigError: the URL is neither ``sqlite:///PATH`` nor ``postgresql://...`` (exit 2).
    """
    from agent.config.paths import user_data_dir

    url = (given or env.get("AGENT_DATABASE_URL") or "").strip()
    source = "--database-url" if given else "AGENT_DATABASE_URL"
    if not url:
        directory = user_data_dir(env, cwd)
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory / DEFAULT_DATABASE}"
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        return url
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        Path(url[len("sqlite:///") :]).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return url
    raise ConfigError("expected sqlite:///PATH or postgresql://USER@HOST/DB", source=source)


def find_batch(url: str, batch: str) -> BatchRecord:
    """The stored batch whose id is or starts with ``batch`` (blocking; before DBOS starts).

    Raises:
        ConfigError: no such batch, or the database cannot be opened (exit 2).
    """
    engine = _sql_engine(url)
    try:
        try:
            store = BatchStore(engine)
        except sa.exc.SQLAlchemyError as exc:
            raise _database_error(exc, url) from exc
        return store.find(batch)
    finally:
        engine.dispose()


def queue_name(batch_id: str) -> str:
    """The DBOS queue of a batch."""
    return f"agent-batch-{batch_id}"


@DBOS.workflow(name="agent.batch.task")
async def task_workflow(task: dict[str, Any]) -> dict[str, Any]:
    """One task on one model: the durable unit of a batch (see :mod:`agent.batch.runner`)."""
    runner = _runner
    if runner is None:  # a process that dequeues tasks always has one; this is a safeguard
        raise RuntimeError("this process runs no batch tasks")
    return await runner.run(task)


class Engine:
    """DBOS launched on the running event loop, with this process's heartbeat.

    Args:
        url: the system database (see :func:`database_url`).
        runner: runs the tasks this process dequeues; None for a process that only looks
            (``agent batch status``) or enqueues.
        listen: the queues this process takes tasks from (None: every queue of the database).
        verbose: let DBOS's own log through (warnings and errors) on stderr.
    """

    def __init__(
        self,
        url: str,
        *,
        runner: TaskRunner | None = None,
        listen: list[str] | None = None,
        verbose: bool = False,
    ) -> None:
        self.url = url
        self.runner = runner
        self.listen = listen
        self.verbose = verbose
        self.executor_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.store: BatchStore | None = None
        self._engine: sa.Engine | None = None
        self._tasks: anyio.abc.TaskGroup | None = None

    @property
    def is_sqlite(self) -> bool:
        """Whether the system database is an SQLite file (one machine)."""
        return self.url.startswith("sqlite")

    async def __aenter__(self) -> Engine:
        global _runner
        logging.getLogger("dbos").setLevel(logging.WARNING if self.verbose else logging.CRITICAL)
        self._engine = _sql_engine(self.url)
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self.url,
            "application_version": APP_VERSION,
            "executor_id": self.executor_id,
            "serializer": DBOSPortableJSONSerializer(),
            "log_level": "WARNING" if self.verbose else "CRITICAL",
            # DBOS's listener thread sleeps this long between polls, and stopping DBOS waits for it.
            "notification_listener_polling_interval_sec": LISTENER_POLL_SECONDS,
        }
        if self.is_sqlite:
            config["system_database_engine"] = self._engine
        DBOS.destroy()  # a DBOS left over in this process (tests run commands in-process)
        try:
            DBOS(config=config)
            if self.listen is not None:
                DBOS.listen_queues(self.listen)
            _runner = self.runner
            DBOS.launch()  # here, on the running loop: DBOS runs workflows on it
            self.store = await anyio.to_thread.run_sync(BatchStore, self._engine)
            await anyio.to_thread.run_sync(self.store.heartbeat, self.executor_id)
            if self.runner is not None:
                self.runner.budget = self.store
        except Exception as exc:
            await self._stop()
            raise _database_error(exc, self.url) from exc
        self._tasks = await anyio.create_task_group().__aenter__()
        self._tasks.start_soon(self._beat)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._tasks is not None:
            self._tasks.cancel_scope.cancel()
            await self._tasks.__aexit__(None, None, None)
            self._tasks = None
        with anyio.CancelScope(shield=True):
            await self._stop()

    async def _stop(self) -> None:
        global _runner
        store = self.store
        if store is not None:
            with contextlib.suppress(Exception):
                # Tasks this process started and did not finish (an interrupt) may still be running
                # here: they are not handed back now, or another process could take them while they
                # do. This process's entry stays; once the process is gone, whoever sweeps next
                # (at once on this machine, after the heartbeat goes stale elsewhere) queues them again.
                unfinished = await DBOS.list_workflows_async(
                    status="PENDING", executor_id=self.executor_id, load_input=False, load_output=False
                )
                if not unfinished:
                    await anyio.to_thread.run_sync(store.forget_executor, self.executor_id)
        # In a thread: DBOS joins its queue threads, which may wait on this loop meanwhile.
        await anyio.to_thread.run_sync(DBOS.destroy)
        _runner = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    async def _beat(self) -> None:
        """Heartbeat, and hand back the tasks of processes that stopped beating."""
        assert self.store is not None
        since_sweep = SWEEP_SECONDS
        while True:
            with contextlib.suppress(Exception):  # a database hiccup: next time
                await anyio.to_thread.run_sync(self.store.heartbeat, self.executor_id)
                if since_sweep >= SWEEP_SECONDS:
                    since_sweep = 0.0
                    await self.recover()
            await anyio.sleep(HEARTBEAT_SECONDS)
            since_sweep += HEARTBEAT_SECONDS

    async def recover(self) -> int:
        """Queue again the tasks of processes that died; how many processes were found dead."""
        assert self.store is not None
        store = self.store
        dead = await anyio.to_thread.run_sync(
            lambda: store.dead_executors(stale_after=STALE_AFTER_SECONDS, alive=self.executor_id)
        )
        for executor in dead:
            # DBOS's own recovery of one executor's PENDING workflows: back to their queues.
            await anyio.to_thread.run_sync(DBOS._recover_pending_workflows, [executor])
            await anyio.to_thread.run_sync(store.forget_executor, executor)
        return len(dead)


def _sql_engine(url: str) -> sa.Engine:
    """The engine of the batch tables (and, for SQLite, of DBOS too)."""
    if not url.startswith("sqlite"):
        return sa.create_engine(
            sa.make_url(url).set(drivername="postgresql+psycopg"),
            pool_size=2,
            max_overflow=2,
            pool_pre_ping=True,
        )
    engine = sa.create_engine(url, pool_size=1, max_overflow=0, pool_timeout=120)

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = "IMMEDIATE"  # writers serialise at BEGIN, as DBOS expects
        dbapi_connection.execute("PRAGMA busy_timeout=30000")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    return engine


def _database_error(exc: Exception, url: str) -> ConfigError:
    """A database that cannot be opened, as one line (the URL without its password)."""
    shown = sa.make_url(url).render_as_string(hide_password=True) if "://" in url else url
    message = " ".join(str(getattr(exc, "orig", None) or exc).split())[:300]
    return ConfigError(f"cannot open the batch database {shown}: {message}", source="--database-url")
