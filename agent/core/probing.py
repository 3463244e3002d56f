"""Probing models through an agent's endpoint: plan each model, run the battery, store verdicts.

The battery itself is :mod:`agent.models.probe`; this is how ``agent probe`` (or a script) puts
it together: the catalog once, each model's ``tool_choice`` facts from catalog and vendor rules
(earlier probes are ignored on purpose), models probed concurrently (bounded), and what the
verdicts establish recorded in the probe store so ``--protocol auto`` starts right.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from agent.errors import ConfigError

if TYPE_CHECKING:
    from agent.core.agent import Agent
    from agent.models.capabilities import ToolChoice
    from agent.models.catalog import Catalog
    from agent.models.probe import ModelProbe

__all__ = ["ProbePlan", "probe_models"]


@dataclass
class ProbePlan:
    """One model's probe: what was known before, the outcome, and what was stored.

    Attributes:
        model: the model id.
        required_unsupported: why ``tool_choice=required`` is not sent, if it is not.
        tool_choice: the ``tool_choice`` values catalog and vendor rules allow.
        listed: whether the endpoint's catalog lists the model (``None``: no catalog).
        probe: the battery's outcome, once run.
        seconds: how long probing took.
        recorded: the facts stored in the probe store (empty when nothing was).
        store_error: why storing failed, if it did.
    """

    model: str
    required_unsupported: str | None = None
    tool_choice: tuple[ToolChoice, ...] | None = None
    listed: bool | None = None
    probe: ModelProbe | None = None
    seconds: float = 0.0
    recorded: dict[str, Any] = field(default_factory=dict)
    store_error: str | None = None


def _plan(model: str, catalog: Catalog | None) -> ProbePlan:
    from agent.models.capabilities import resolve

    entry = catalog.lookup(model) if catalog is not None else None
    listed = None if catalog is None or not catalog.entries else entry is not None
    caps = resolve(model, catalog_entry=entry)
    reason = None
    if not caps.allows_tool_choice("required"):
        source = caps.sources.get("tool_choice", "catalog")
        reason = f"not sent: the {source} says tool_choice=required is unsupported"
    return ProbePlan(model, reason, caps.tool_choice, listed)


async def probe_models(
    agent: Agent,
    models: Sequence[str],
    *,
    concurrency: int = 4,
    check_timeout: float = 60.0,
    on_done: Callable[[ProbePlan], None] | None = None,
) -> tuple[list[ProbePlan], str | None]:
    """Probe ``models`` on ``agent``'s endpoint; returns the plans and a note about the catalog.

    ``on_done`` hears about each model as soon as its battery finished.
    """
    from agent.models.resolution import load_catalog_or_note

    endpoint = agent.endpoint
    catalog, note = await load_catalog_or_note(
        agent.http, endpoint.base_url, api_key=endpoint.optional_key(), env=endpoint.env
    )
    plans = [_plan(m, catalog) for m in models]
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(plan: ProbePlan) -> None:
        from agent.models.probe import probe_model

        async with limiter:
            started = time.perf_counter()
            plan.probe = await probe_model(
                agent.chat_model(plan.model),
                required_unsupported=plan.required_unsupported,
                check_timeout=check_timeout,
            )
            plan.seconds = time.perf_counter() - started
        if on_done is not None:
            on_done(plan)

    async with anyio.create_task_group() as tg:
        for plan in plans:
            tg.start_soon(one, plan)
    _record(plans, agent)
    return plans, note


def _record(plans: Sequence[ProbePlan], agent: Agent) -> None:
    """Store what the verdicts established, so ``agent run --protocol auto`` starts right."""
    from agent.cache import user_cache_dir
    from agent.models.probe_store import ProbeStore

    endpoint = agent.endpoint
    store = ProbeStore.in_cache_dir(user_cache_dir(endpoint.env))
    for plan in plans:
        probe = plan.probe
        if probe is None or probe.errored:
            continue
        facts = probe.facts(plan.tool_choice)
        try:
            store.record(endpoint.base_url, plan.model, facts, note=probe.note())
        except ConfigError as exc:
            plan.store_error = str(exc)
            continue
        plan.recorded = facts.model_dump(mode="json", exclude_none=True)
