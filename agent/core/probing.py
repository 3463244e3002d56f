"""Probing models through an agent's endpoint: plan each model, run the battery, store verdicts.

The battery itself is :mod:`agent.models.probe`; this is how ``agent probe`` (or a script) puts
it together: the catalog once, each model's ``tool_choice`` facts from catalog and vendor rules
(earlier probes are ignored on purpose), models probed concurrently (bounded), and what the
verdicts establish recorded in the probe store so ``--protocol auto`` starts right.

:func:`probe_providers` runs the battery on each provider endpoint of a model instead, every
request pinned to that endpoint, and stores a verdict per provider: later runs prefer the
providers that passed (:mod:`agent.core.provider_verdicts`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from agent.errors import ConfigError, ProviderError

if TYPE_CHECKING:
    from agent.core.agent import Agent
    from agent.models.capabilities import ToolChoice
    from agent.models.catalog import Catalog
    from agent.models.endpoints import ModelEndpoint
    from agent.models.probe import Check, CheckResult, ModelProbe
    from agent.models.probe_store import ProviderVerdict, ProviderVerdictName

__all__ = ["EndpointProbe", "ProbePlan", "ProvidersPlan", "probe_models", "probe_providers"]


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
    checks: Sequence[Check] | None = None,
    on_start: Callable[[ProbePlan], None] | None = None,
    on_check: Callable[[ProbePlan, CheckResult], None] | None = None,
) -> tuple[list[ProbePlan], str | None]:
    """Probe ``models`` on ``agent``'s endpoint; returns the plans and a note about the catalog.

    ``on_done`` hears about each model as soon as its battery finished; ``checks``: a subset of
    the battery (default: all of it). ``on_start`` and ``on_check`` hear when a model's battery
    starts (``--concurrency`` may hold it back) and each check's result as soon as it is known.
    """
    from agent.models.probe import CHECKS
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
            if on_start is not None:
                on_start(plan)
            plan.probe = await probe_model(
                agent.chat_model(plan.model),
                required_unsupported=plan.required_unsupported,
                check_timeout=check_timeout,
                checks=CHECKS if checks is None else checks,
                on_check=None if on_check is None else lambda result: on_check(plan, result),
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


@dataclass
class EndpointProbe:
    """One provider endpoint of a model and the battery's outcome there (None: not probed)."""

    endpoint: ModelEndpoint
    probe: ModelProbe | None = None
    seconds: float = 0.0

    @property
    def verdict(self) -> ProviderVerdictName:
        """``no_tools`` (not probed), ``error`` (nothing decided), ``fail`` (a check failed), ``pass``."""
        if self.probe is None:
            return "no_tools"
        decided = [c.verdict for c in self.probe.checks if c.verdict in ("pass", "fail")]
        if not decided:
            return "error"
        return "fail" if "fail" in decided else "pass"


@dataclass
class ProvidersPlan:
    """One model's probe per provider endpoint.

    Attributes:
        model: the model id as given.
        listed_as: the model whose endpoints were listed (a variant's base model).
        endpoints: each endpoint and its outcome, in the listing's order.
        error: why the endpoints could not be listed, if they could not.
        verdicts: each endpoint's verdict by tag, as stored (empty: nothing was decided).
        recorded: the verdicts were stored.
        store_error: why storing failed, if it did.
    """

    model: str
    listed_as: str | None = None
    endpoints: list[EndpointProbe] = field(default_factory=list)
    error: ProviderError | None = None
    verdicts: dict[str, ProviderVerdict] = field(default_factory=dict)
    recorded: bool = False
    store_error: str | None = None


async def probe_providers(
    agent: Agent,
    models: Sequence[str],
    *,
    checks: Sequence[Check],
    concurrency: int = 4,
    check_timeout: float = 60.0,
    on_done: Callable[[ProvidersPlan, EndpointProbe], None] | None = None,
    on_start: Callable[[ProvidersPlan, EndpointProbe], None] | None = None,
    on_check: Callable[[ProvidersPlan, EndpointProbe, CheckResult], None] | None = None,
) -> tuple[list[ProvidersPlan], str | None]:
    """Probe each provider endpoint of ``models`` (pinned, no fallbacks) and store the verdicts.

    Endpoints that list no ``tools`` are not probed (their verdict is ``no_tools``). A model whose
    endpoints cannot be listed keeps the error in its plan; the others go on. ``on_start`` and
    ``on_check`` hear when an endpoint's battery starts and each check's result there.

    Raises:
        ConfigError: a model id names no ``author/slug`` model.
    """
    from agent.core.provider_verdicts import pinned
    from agent.models.endpoints import endpoints_model, fetch_endpoints
    from agent.models.probe import probe_model
    from agent.models.resolution import load_catalog_or_note
    from agent.providers.routing import request_extras

    endpoint = agent.endpoint
    config = endpoint.provider.config
    catalog, note = await load_catalog_or_note(
        agent.http, endpoint.base_url, api_key=endpoint.optional_key(), env=endpoint.env
    )
    for model_id in models:  # a wrong id is a usage error before any request
        endpoints_model(model_id, catalog)
    plans = [ProvidersPlan(m) for m in models]
    extras = request_extras(agent.options, config.provider, config.reasoning)
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(plan: ProvidersPlan, row: EndpointProbe, required_unsupported: str | None) -> None:
        tag = row.endpoint.slug
        if not row.endpoint.takes("tool_choice"):
            required_unsupported = f"not sent: {tag} lists no tool_choice"
        async with limiter:
            started = time.perf_counter()
            if on_start is not None:
                on_start(plan, row)
            row.probe = await probe_model(
                agent.chat_model(plan.model, extras=pinned(extras, tag), fallbacks=False),
                required_unsupported=required_unsupported,
                check_timeout=check_timeout,
                checks=checks,
                on_check=None if on_check is None else lambda result: on_check(plan, row, result),
            )
            row.seconds = time.perf_counter() - started
        if on_done is not None:
            on_done(plan, row)

    async def each_model(plan: ProvidersPlan) -> None:
        try:
            listed = await fetch_endpoints(
                agent.http, endpoint.base_url, plan.model, api_key=endpoint.optional_key(), catalog=catalog
            )
        except ProviderError as exc:
            plan.error = exc
            return
        plan.listed_as = listed.listed_as
        plan.endpoints = [EndpointProbe(e) for e in listed.endpoints]
        required_unsupported = _plan(plan.model, catalog).required_unsupported
        async with anyio.create_task_group() as tg:
            for row in plan.endpoints:
                if row.endpoint.supports_tools:
                    tg.start_soon(one, plan, row, required_unsupported)

    async with anyio.create_task_group() as tg:
        for plan in plans:
            tg.start_soon(each_model, plan)
    _record_providers(plans, agent)
    return plans, note


def _record_providers(plans: Sequence[ProvidersPlan], agent: Agent) -> None:
    """Store each model's verdicts per provider, unless no endpoint reached a verdict."""
    from agent.cache import user_cache_dir
    from agent.models.probe_store import ProbeStore, ProviderVerdict

    endpoint = agent.endpoint
    store = ProbeStore.in_cache_dir(user_cache_dir(endpoint.env))
    for plan in plans:
        if not any(row.verdict in ("pass", "fail") for row in plan.endpoints):
            continue
        plan.verdicts = verdicts = {
            row.endpoint.slug: ProviderVerdict(
                provider=row.endpoint.label,
                verdict=row.verdict,
                checks={c.check: c.verdict for c in row.probe.checks} if row.probe else {},
                latency_ms=row.probe.latency_ms if row.probe else None,
                cost=row.probe.cost if row.probe else None,
                probed_at=store.now(),
            )
            for row in plan.endpoints
        }
        try:
            store.record_providers(endpoint.base_url, plan.model, verdicts)
        except ConfigError as exc:
            plan.store_error = str(exc)
            continue
        plan.recorded = True
