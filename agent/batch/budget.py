"""The budget of a whole batch (``--max-cost``): who may start, and how much each task may spend.

A task reserves its share before it starts and settles what it spent when it ends; no task
starts once what is spent and reserved would cross the budget. A durable batch keeps the
accounts in its database (:meth:`agent.batch.store.BatchStore.reserve`), shared by every worker;
``--no-durable`` keeps them here (:class:`MemoryBudget`). The share of a task is
``budget / concurrency`` or four times what finished tasks cost on average, whichever is more,
and never more than is left: the run is stopped (``max_cost``) before it could spend more. A
task does not start when less is left than finished tasks cost on average.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Budget", "MemoryBudget", "Reservation", "share"]


@dataclass(frozen=True, slots=True)
class Reservation:
    """The answer to a task that asks to start: whether it may, and what it may spend."""

    allowed: bool
    cap: float
    spent: float


def share(budget: float, concurrency: int, spent: float, reserved: float, settled: list[float]) -> float:
    """What the next task may spend; 0 or less: it may not start (less is left than a task costs)."""
    mean = sum(settled) / len(settled) if settled else 0.0
    free = budget - spent - reserved
    if free < mean:
        return 0.0
    return min(max(budget / max(concurrency, 1), 4 * mean), free)


class Budget(Protocol):
    """Where a batch's ``--max-cost`` is accounted (see :meth:`agent.batch.store.BatchStore.reserve`)."""

    def reserve(self, batch_id: str, workflow_id: str, *, budget: float, concurrency: int) -> Reservation:
        """Let a task start if the batch can afford it; what it may spend."""
        ...

    def settle(self, batch_id: str, workflow_id: str, cost: float) -> None:
        """Record what a task spent."""
        ...


class MemoryBudget:
    """A batch budget kept in this process (a batch run with ``--no-durable``)."""

    def __init__(self) -> None:
        self._reserved: dict[str, float] = {}
        self._spent: dict[str, float] = {}

    def reserve(self, batch_id: str, workflow_id: str, *, budget: float, concurrency: int) -> Reservation:
        """As :meth:`agent.batch.store.BatchStore.reserve`."""
        spent = sum(self._spent.values())
        settled = [cost for key, cost in self._spent.items() if self._reserved.get(key, 0) > 0]
        reserved = sum(v for k, v in self._reserved.items() if k not in self._spent)
        cap = share(budget, concurrency, spent, reserved, settled)
        allowed = cap > 1e-9
        self._reserved[workflow_id] = cap if allowed else 0.0
        if not allowed:
            self._spent[workflow_id] = 0.0
        return Reservation(allowed, max(cap, 0.0), spent)

    def settle(self, batch_id: str, workflow_id: str, cost: float) -> None:
        """As :meth:`agent.batch.store.BatchStore.settle`."""
        self._spent[workflow_id] = cost
