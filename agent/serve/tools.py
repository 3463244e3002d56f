"""What the ``agent serve`` tools do: run a task, list the catalog, probe models.

:class:`ServeTools` holds the one entered :class:`~agent.Agent` every call shares (its MCP servers
started once) and answers each tool; :mod:`agent.serve.server` registers them on the MCP server.

The host is trusted with the task, not with the agent: it picks servers by name among the ones
``agent serve`` attached (it can start no command), its limits only tighten the agent's own, its
roots only narrow the bundled fs server's directories, and tool calls that need approval are
refused unless ``agent serve`` itself was started with ``--yes`` or ``--approve-with``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import BaseModel

from agent.errors import AgentError, ConfigError
from agent.result import RunResult
from agent.serve.progress import Report, TurnProgress
from agent.serve.results import result_text, without_secrets
from agent.serve.roots import FsServer, RootedServers, narrow_roots, root_paths
from agent.serve.toolset import RunToolset
from agent.text import one_line

if TYPE_CHECKING:
    from agent.core.agent import Agent
    from agent.core.probing import ProbePlan
    from agent.models.catalog import CatalogEntry
    from agent.tools import Toolset

__all__ = [
    "MAX_PROBE_MODELS",
    "CheckVerdict",
    "ModelList",
    "ModelProbeSummary",
    "ModelSummary",
    "ProbeReport",
    "ServeSettings",
    "ServeTools",
    "TaskOutcome",
]

MAX_PROBE_MODELS = 5
"""Models one ``probe_models`` call may probe (each check is a real, paid request)."""
MAX_LISTED_MODELS = 500


@dataclass(frozen=True)
class ServeSettings:
    """How ``agent serve`` treats its host.

    Attributes:
        roots_from_host: the host's roots narrow the bundled fs server's directories per call.
        max_probe_models: models one ``probe_models`` call may probe.
        probe_check_timeout: seconds each probe check may take.
    """

    roots_from_host: bool = True
    max_probe_models: int = MAX_PROBE_MODELS
    probe_check_timeout: float = 60.0


@dataclass
class TaskOutcome:
    """One ``run_task``: the text for the host, whether it is an error, the ``--json`` result."""

    text: str
    is_error: bool
    result: dict[str, Any]


class ModelSummary(BaseModel):
    """One model of the catalog, compact (prices in USD per million tokens)."""

    id: str
    tools: bool | None
    context_length: int | None
    prompt_per_million: float | None
    completion_per_million: float | None
    free: bool


class ModelList(BaseModel):
    """The models that matched, and how many there are in all."""

    models: list[ModelSummary]
    matched: int
    total: int
    stale: str | None = None


class CheckVerdict(BaseModel):
    """One probe check's verdict, and why when it did not pass."""

    check: str
    verdict: str
    detail: str = ""


class ModelProbeSummary(BaseModel):
    """One model's probe: each check's verdict, how many passed, cost and time."""

    model: str
    passed: int
    decided: int
    checks: list[CheckVerdict]
    cost: float | None
    latency_ms: float
    in_catalog: bool | None
    stored: bool


class ProbeReport(BaseModel):
    """Every probed model's verdicts (stored, so later runs use the right tool protocol)."""

    models: list[ModelProbeSummary]
    note: str | None = None


Log = Callable[[str], None]


@dataclass
class ServeTools:
    """The tools of ``agent serve`` over one entered agent.

    Args:
        agent: the entered agent whose servers, model and limits every call shares.
        settings: how the host is treated.
        rooted: where fs servers for the host's roots are started (entered by the caller).
        fs_servers: the attached bundled fs servers, by name.
        log: receives one line per notable thing (a run's outcome, a refused root); no output else.
    """

    agent: Agent
    settings: ServeSettings = field(default_factory=ServeSettings)
    rooted: RootedServers | None = None
    fs_servers: dict[str, FsServer] = field(default_factory=dict)
    log: Log | None = None

    # -- run_task ------------------------------------------------------------------------------

    def server_names(self) -> list[str]:
        """The servers a run may use: every one ``agent serve`` attached."""
        return [report.name for report in self.agent.servers() if report.status != "disabled"]

    def may_destroy(self) -> bool:
        """Whether a run may call tools that change or delete data (``run_task``'s hint).

        Only when the policy lets calls that need approval through: ``--yes``,
        ``--approve-with`` or ``--approval off``.
        """
        options = self.agent.options
        return options.yes or options.approve_with is not None or options.approval == "off"

    def wants_roots(self, servers: Sequence[str] | None) -> bool:
        """Whether a run of ``servers`` (None: all) uses the bundled fs server and so needs roots."""
        if not self.settings.roots_from_host or not self.fs_servers:
            return False
        chosen = self.server_names() if servers is None else servers
        return any(name in self.fs_servers for name in chosen)

    async def run_task(
        self,
        task: str,
        *,
        model: str | None = None,
        servers: Sequence[str] | None = None,
        max_turns: int | None = None,
        max_cost: float | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the run's limit, passed on)
        roots: Sequence[str] | None = None,
        report: Report | None = None,
    ) -> TaskOutcome:
        """Run ``task`` on the agent and say how it went (never raises for the run's failures).

        Args:
            task: the prompt.
            model: another model of the endpoint than the agent's.
            servers: the attached servers to use (None: all).
            max_turns: at most the agent's own limit.
            max_cost: at most the agent's own limit, if it has one.
            timeout: at most the agent's own limit, if it has one.
            roots: the host's root URIs (None: the host offers none).
            report: sends one progress notification (the turn, a message).
        """
        agent = self.agent
        result = RunResult(model=model or agent.model_id, models_tried=[model or agent.model_id])
        try:
            overrides = self._limits(max_turns, max_cost, timeout)
            chosen = self._chosen(servers)
            async with contextlib.AsyncExitStack() as stack:
                toolset = await self._toolset(stack, chosen, servers is not None, roots)
                progress = TurnProgress(report) if report is not None else None
                async with anyio.create_task_group() as tg:
                    if progress is not None:
                        tg.start_soon(progress.send_all)
                    try:
                        result = await agent.run(
                            task,
                            on_event=progress.sink if progress is not None else None,
                            model=model,
                            toolset=toolset,
                            **overrides,
                        )
                    finally:
                        if progress is not None:
                            progress.close()
            result.servers = [s for s in result.servers if s.name in chosen]
        except AgentError as exc:
            result.fail(exc)
        except Exception as exc:  # a bug of ours: one line for the host, no traceback
            result.fail(AgentError(f"internal error: {type(exc).__name__}: {one_line(str(exc), 300)}"))
        text, is_error = result_text(result)
        secrets = self.agent.secrets()
        if self.log is not None:
            self.log(one_line(f"run_task: {result.stop_reason} after {result.turns} turns ({result.model})"))
        return TaskOutcome(
            text=without_secrets(text, secrets),
            is_error=is_error,
            result=without_secrets(result.model_dump(mode="json"), secrets),
        )

    def _limits(self, max_turns: int | None, max_cost: float | None, timeout: float | None) -> dict[str, Any]:
        """The run's own limits: the host's, never looser than the agent's."""
        options = self.agent.options
        overrides: dict[str, Any] = {}
        if max_turns is not None:
            overrides["max_turns"] = min(max_turns, options.max_turns)
        for name, value in (("max_cost", max_cost), ("timeout", timeout)):
            own = getattr(options, name)
            if value is not None:
                overrides[name] = value if own is None else min(value, own)
        return overrides

    def _chosen(self, servers: Sequence[str] | None) -> list[str]:
        """The attached servers a run uses (all by default).

        Raises:
            ConfigError: a name is not one of the attached servers.
        """
        names = self.server_names()
        if servers is None:
            return names
        unknown = [name for name in servers if name not in names]
        if unknown:
            known = ", ".join(names) or "none"
            raise ConfigError(
                f"unknown server {one_line(unknown[0], 80)!r}; this agent's servers are: {known}",
                source="servers",
            )
        return list(dict.fromkeys(servers))

    async def _toolset(
        self, stack: contextlib.AsyncExitStack, chosen: list[str], named: bool, roots: Sequence[str] | None
    ) -> Toolset | None:
        """The run's tools: the chosen servers, each bundled fs server narrowed to the host's roots.

        None when that is every server as it is (the agent's own toolset).
        """
        replaced: dict[str, Toolset] = {}
        left_out: list[str] = []
        if roots is not None and self.settings.roots_from_host:
            host = root_paths(roots)
            for name in chosen:
                fs = self.fs_servers.get(name)
                if fs is None:
                    continue
                narrowed = narrow_roots(host, fs.roots)
                if narrowed == fs.roots:
                    continue
                if not narrowed:
                    left_out.append(name)
                    if self.log is not None:
                        shown = ", ".join(str(p) for p in fs.roots)
                        self.log(f"run_task: {name} left out: none of the host's roots is inside {shown}")
                    continue
                assert self.rooted is not None
                replaced[name] = await stack.enter_async_context(self.rooted.use(fs, narrowed))
        if not named and not replaced and not left_out:
            return None
        kept = [name for name in chosen if name not in left_out]
        return RunToolset(self.agent.toolset, kept, replaced)

    # -- list_models ---------------------------------------------------------------------------

    async def list_models(
        self, *, tools: bool = False, free: bool = False, search: str | None = None, limit: int = 50
    ) -> ModelList:
        """The endpoint's catalog (cached for a day), filtered, id order, at most ``limit`` models.

        Raises:
            ProviderError: it cannot be fetched and there is no cache.
        """
        from agent.cache import user_cache_dir
        from agent.models.catalog import load_catalog, select

        agent = self.agent
        endpoint = agent.endpoint
        catalog = await load_catalog(
            agent.http,
            endpoint.base_url,
            api_key=endpoint.optional_key(),
            cache_dir=user_cache_dir(endpoint.env),
        )
        entries = select(catalog.entries.values(), tools=tools, free=free, search=search)
        return ModelList(
            models=[_summary(entry) for entry in entries[: max(1, min(limit, MAX_LISTED_MODELS))]],
            matched=len(entries),
            total=len(catalog.entries),
            stale=catalog.stale_reason if catalog.stale else None,
        )

    # -- probe_models --------------------------------------------------------------------------

    async def probe_models(self, models: Sequence[str], checks: Sequence[str] | None = None) -> ProbeReport:
        """Probe each of ``models`` (at most :attr:`ServeSettings.max_probe_models`) and store the verdicts.

        Raises:
            ConfigError: no models, too many, an empty id, or an unknown check.
        """
        from agent.core.probing import probe_models
        from agent.models.probe import select_checks

        wanted = list(dict.fromkeys(m.strip() for m in models))
        if not wanted or "" in wanted:
            raise ConfigError("give one or more model ids", source="models")
        limit = self.settings.max_probe_models
        if len(wanted) > limit:
            raise ConfigError(f"at most {limit} models at a time, got {len(wanted)}", source="models")
        chosen = select_checks([c.strip() for c in checks or () if c.strip()])
        plans, note = await probe_models(
            self.agent,
            wanted,
            concurrency=2,
            check_timeout=self.settings.probe_check_timeout,
            checks=chosen,
        )
        return ProbeReport(models=[_probe_summary(plan) for plan in plans], note=note)


def _per_million(value: Any) -> float | None:
    return None if value is None else float(value * 1_000_000)


def _summary(entry: CatalogEntry) -> ModelSummary:
    pricing = entry.pricing
    top = entry.top_provider
    return ModelSummary(
        id=entry.id,
        tools=None if entry.supported_parameters is None else entry.supports_tools,
        context_length=entry.context_length or (top.context_length if top is not None else None),
        prompt_per_million=_per_million(pricing.prompt if pricing else None),
        completion_per_million=_per_million(pricing.completion if pricing else None),
        free=entry.is_free,
    )


def _probe_summary(plan: ProbePlan) -> ModelProbeSummary:
    probe = plan.probe
    checks = probe.checks if probe is not None else []
    decided = [c for c in checks if c.verdict in ("pass", "fail")]
    return ModelProbeSummary(
        model=plan.model,
        passed=sum(c.verdict == "pass" for c in decided),
        decided=len(decided),
        checks=[CheckVerdict(check=c.check, verdict=c.verdict, detail=c.detail) for c in checks],
        cost=probe.cost if probe is not None else None,
        latency_ms=round(probe.latency_ms, 1) if probe is not None else 0.0,
        in_catalog=plan.listed,
        stored=bool(plan.recorded),
    )
