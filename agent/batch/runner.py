"""Running one task of a batch: an agent for its options and servers, a run, and what came of it.

A :class:`TaskRunner` keeps one entered :class:`~agent.core.agent.Agent` per distinct set of
options and servers, shared by every task that asks for the same (their MCP servers start once).
In a durable batch the agents are :class:`DurableAgent`: model requests and tool calls are DBOS
steps (:mod:`agent.batch.durable`). The input of a task carries everything a process needs to
run it, keys excepted: those come from the running process's environment and config.

What a task produces (:meth:`TaskRunner.run`)::

    {"state": "completed" | "failed" | "skipped", "model": str, "result": <RunResult JSON> | None}

``skipped``: the batch budget (``--max-cost``) was spent or reserved when the task's turn came.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio

from agent.batch.budget import Budget, MemoryBudget
from agent.core.agent import Agent
from agent.errors import AgentError
from agent.options import parse_options
from agent.providers.base import ChatModel
from agent.result import RunResult
from agent.tools import Toolset

__all__ = ["DurableAgent", "TaskRunner", "outcome_of", "shards_for"]


class DurableAgent(Agent):
    """An agent whose model requests and tool calls are DBOS steps inside a workflow."""

    def chat_model(self, model_id: str | None = None, **kwargs: Any) -> ChatModel:
        """The agent's chat model for ``model_id``, its requests made durable."""
        from agent.batch.durable import DurableModel

        return DurableModel(super().chat_model(model_id, **kwargs), self.secrets())

    def wrap_toolset(self, toolset: Toolset) -> Toolset:
        """The agent's tools, each call made durable."""
        from agent.batch.durable import DurableToolset

        return DurableToolset(toolset, self.secrets())


class TaskRunner:
    """Runs tasks on agents it starts on demand; an async context manager that stops them at its end.

    Each distinct set of options gets ``shards`` agents (each with its own HTTP pool and MCP
    server processes); a task runs on the least busy. Small pools keep the HTTP client's
    bookkeeping cheap (it grows with the square of the connections) and spread tool calls over
    several server processes. Each agent lives in a task of the runner's own, which enters and
    leaves it: an agent's servers live in task groups that must end in the task they began in.

    Args:
        durable: build :class:`DurableAgent` s (for DBOS workflows); plain agents otherwise.
        shards: agents per set of options (see :func:`shards_for`).
        cwd: the working directory of the agents (relative paths in options resolve there).
        env: the environment the agents read keys and config from.
    """

    def __init__(
        self,
        *,
        durable: bool = True,
        shards: int = 1,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.durable = durable
        self.shards = max(1, shards)
        self.budget: Budget = MemoryBudget()
        """Where ``--max-cost`` is accounted (the batch database for a durable batch)."""
        self.cwd = cwd
        self.env = env
        self.completed = 0
        self.failed = 0
        self.running = 0
        self._agents: dict[str, list[Agent]] = {}
        self._load: dict[int, int] = {}
        self._starting: dict[str, anyio.Event] = {}
        self._failures: dict[str, AgentError] = {}
        self._closing = anyio.Event()
        self._group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> TaskRunner:
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing.set()  # each host leaves its agent, in its own task
        assert self._group is not None
        await self._group.__aexit__(exc_type, exc, tb)
        self._agents.clear()

    async def _start(self, key: str, values: dict[str, Any]) -> None:
        """Start the shards of ``key`` (each in a host task of its own); record them or the failure."""
        started: list[Agent] = []
        failures: list[AgentError] = []

        async def host(ready: anyio.Event) -> None:
            try:
                cls = DurableAgent if self.durable else Agent
                async with cls(parse_options(values), cwd=self.cwd, env=self.env) as agent:
                    started.append(agent)
                    ready.set()
                    await self._closing.wait()
            except AgentError as exc:
                failures.append(exc)
            except Exception as exc:  # a bug of ours: the tasks that need this agent fail, saying so
                failures.append(AgentError(f"internal error: {type(exc).__name__}: {exc}"))
            finally:
                ready.set()

        assert self._group is not None, "enter the runner first"
        readies = [anyio.Event() for _ in range(self.shards)]
        for ready in readies:
            self._group.start_soon(host, ready)
        for ready in readies:
            await ready.wait()
        if failures:
            self._failures[key] = failures[0]
        else:
            self._agents[key] = started
            self._load.update((id(agent), 0) for agent in started)
        self._starting.pop(key).set()

    def warm(self, options: Mapping[str, Any]) -> anyio.Event:
        """Start the agents for ``options`` now, in the background; the event is set once they are up.

        A failure is kept for the tasks that need the agents (each fails saying why).
        """
        ready = anyio.Event()

        async def start() -> None:
            try:
                await self.agent(options, None)
            except AgentError:
                pass
            finally:
                ready.set()

        assert self._group is not None, "enter the runner first"
        self._group.start_soon(start)
        return ready

    async def agent(self, options: Mapping[str, Any], servers: list[str] | None) -> Agent:
        """The least busy entered agent for ``options`` (with ``servers`` instead of the options').

        Raises:
            AgentError: the options are wrong, or the agents could not start (every task that
                asks for them fails the same way).
        """
        values = dict(options)
        if servers is not None:
            values.update(servers=list(servers), no_servers=False)
        key = json.dumps(values, sort_keys=True, default=str)
        while key not in self._agents:
            if key in self._failures:
                raise self._failures[key]
            starting = self._starting.get(key)
            if starting is None:
                starting = self._starting[key] = anyio.Event()
                await self._start(key, values)
            else:
                await starting.wait()
        return min(self._agents[key], key=lambda agent: self._load[id(agent)])

    def _reserve(self, task: Mapping[str, Any], budget: Mapping[str, Any]) -> dict[str, Any]:
        reservation = self.budget.reserve(
            str(task["batch"]),
            str(task["workflow"]),
            budget=float(budget["max_cost"]),
            concurrency=int(budget.get("concurrency") or 1),
        )
        return {"allowed": reservation.allowed, "cap": reservation.cap}

    def _settle(self, task: Mapping[str, Any], cost: float) -> dict[str, Any]:
        self.budget.settle(str(task["batch"]), str(task["workflow"]), cost)
        return {"cost": cost}

    async def run(self, task: Mapping[str, Any]) -> dict[str, Any]:
        """Run one task (the input of a batch workflow); in a workflow, its budget steps too."""
        self.running += 1
        try:
            output = await self._run(task)
        finally:
            self.running -= 1
        if output["state"] == "completed":
            self.completed += 1
        elif output["state"] == "failed":
            self.failed += 1
        return output

    async def _run(self, task: Mapping[str, Any]) -> dict[str, Any]:
        durable = False
        if self.durable:
            from agent.batch.durable import in_workflow, workflow_scope

            durable = in_workflow()
            if durable:
                workflow_scope()
        model = str(task.get("model") or "")
        cap: float | None = None
        budget = task.get("budget")
        if budget:
            reservation = await _step(durable, "budget_reserve", lambda: self._reserve(task, budget))
            if not reservation["allowed"]:
                return {"state": "skipped", "model": model, "result": None}
            cap = float(reservation["cap"])
        secrets: list[str | None] = []
        try:
            agent = await self.agent(task.get("options") or {}, task.get("servers"))
            model = model or agent.model_id
            if isinstance(agent, DurableAgent):
                secrets = agent.secrets()
            overrides: dict[str, Any] = {"max_cost": cap} if cap is not None else {}
            self._load[id(agent)] += 1
            try:
                result = await agent.run(str(task["prompt"]), model=model or None, **overrides)
            finally:
                self._load[id(agent)] -= 1
        except AgentError as exc:
            result = RunResult(model=model, models_tried=[model] if model else [])
            result.fail(exc)
        if budget:
            cost = result.usage.cost or 0.0
            await _step(durable, "budget_settle", lambda: self._settle(task, cost))
        payload = result.model_dump(mode="json")
        if secrets:
            from agent.batch.durable import scrub

            payload = scrub(payload, secrets)
        return {"state": outcome_of(result), "model": model, "result": payload}


def shards_for(concurrency: int) -> int:
    """Agents per set of options for ``concurrency`` tasks at once: one per 16 (at most 8)."""
    return max(1, min(8, math.ceil(concurrency / 16)))


def outcome_of(result: RunResult) -> str:
    """``completed`` when the run completed, else ``failed`` (a limit, or an error)."""
    return "completed" if result.stop_reason == "completed" else "failed"


async def _step(durable: bool, name: str, work: Any) -> dict[str, Any]:
    """``work`` (blocking, returns JSON) in a thread: a DBOS step in a workflow, else just run."""
    if not durable:
        result: dict[str, Any] = await anyio.to_thread.run_sync(work)
        return result
    from dbos import DBOS

    async def body() -> dict[str, Any]:
        value: dict[str, Any] = await anyio.to_thread.run_sync(work)
        return value

    recorded: dict[str, Any] = await DBOS.run_step_async({"name": name}, body)
    return recorded
