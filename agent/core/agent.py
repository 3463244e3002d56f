"""``Agent``: the library's front door, built from the same options as the CLI.

::

    async with Agent(model="openai/gpt-4o-mini", servers=["fs:./data", "calc"], max_cost=0.05) as a:
        result = await a.run("What do the notes say?")   # RunResult: the CLI's --json object
    result = Agent(model="...", servers=["calc"]).run_sync("2**100 / 3?")

Entering an agent loads the provider, starts the MCP servers (in parallel, overlapped with the
HTTP client and the model look-up), and builds the chat model; leaving stops everything.
Concurrent :meth:`Agent.run` calls share one HTTP pool, one connection per MCP server and one
chat model, which keeps no per-run state.

What the servers offer needs no model and no API key::

    async with Agent(servers=["calc"]).servers_only() as a:
        tools = await a.list_tools()      # also list_servers, list_prompts, list_resources

Servers may ask things of the agent. The working directory (or ``roots=``) is offered as their
roots. A server asking for a completion (sampling) gets one from the agent's model when
``allow_sampling=True`` or the ``approve_sampling`` handler says yes; otherwise it is refused. A
server asking the user for input (elicitation) is answered by the ``answer_elicitation`` handler
(:func:`~agent.events.answer_through_events` answers through the ``ElicitationRequested`` event),
and declined without one. The library never asks anyone itself: the CLI's handlers ask at a
terminal.

Tool calls pass the agent's policy before they run (:mod:`agent.policy`, :mod:`agent.approval`):
``allow``/``deny`` globs and the servers' own ``allow``/``deny`` lists refuse tools; a call that
needs approval (``approval="destructive"`` by default: tools that may change or delete data) is
approved by ``yes=True``, the ``approve_with`` hook, or the ``approve_tool`` handler, and
refused without them. A tool allowed "for the session" stays allowed for the agent's life.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio

from agent.core.endpoint import Endpoint, open_endpoint
from agent.core.run_setup import given_opening, opening_options, overridden, with_suggestions
from agent.core.server_plan import plan_servers
from agent.errors import (
    ConfigError,
    InsufficientCreditsError,
    ModelNotFoundError,
    ProviderError,
    RateLimitError,
)
from agent.events import (
    CURRENT_CALL,
    ElicitationAnswer,
    ElicitationRequest,
    Event,
    EventSink,
    Notice,
    RunFinished,
    SamplingRequest,
)
from agent.options import AgentOptions, parse_options
from agent.result import RunResult

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    import httpx
    from opentelemetry.trace import TracerProvider
    from pydantic import BaseModel

    from agent.approval import ToolApprover, ToolGate
    from agent.budget import Price, Spending
    from agent.loop import RunOptions
    from agent.mcp.client_features import ClientFeatures
    from agent.mcp.content import ResourceContent
    from agent.mcp.inventory import PromptEntry, ResourceEntry, ServerEntry, ToolEntry
    from agent.mcp.manager import McpManager
    from agent.mcp.oauth import AuthorizationHandler
    from agent.mcp.report import ServerReport
    from agent.mcp.targets import ServerTarget
    from agent.messages import Message, ModelResponse, RequestSettings, ToolSpec
    from agent.models.resolution import ResolvedModel
    from agent.providers.base import ChatModel
    from agent.providers.embeddings import Embeddings
    from agent.providers.generation import GenerationLookup
    from agent.providers.routing import RequestExtras
    from agent.sessions.recorder import SessionRecorder
    from agent.sessions.store import SessionStore
    from agent.structured import OutputSchema
    from agent.tools import Toolset
    from agent.tracing import Tracing

__all__ = ["Agent", "ElicitationHandler", "SamplingApprover"]

SamplingApprover: TypeAlias = "Callable[[SamplingRequest], Awaitable[bool]]"
"""Says whether a server may have the model answer ``request`` (it may raise ``Refused(reason)``)."""
ElicitationHandler: TypeAlias = "Callable[[ElicitationRequest], Awaitable[ElicitationAnswer]]"
"""Answers a server's request for input (or raises ``Refused(reason)`` to decline it)."""


class Agent:
    """An agent: a provider and model, MCP servers, and the limits of each run.

    Args:
        options: an :class:`~agent.options.AgentOptions`; or give the same names as keywords
            (``model=``, ``servers=``, ``mcp_config=`` (a file or an ``mcpServers`` dict),
            ``fallbacks=``, ``max_turns=``, ``max_cost=``, ...).
        on_event: receives every event: servers starting, and each run's events.
        mcp_servers: extra servers given in code (name -> config, SDK transport, transport
            factory or in-process server object).
        approve_sampling: asked whether a server may have the model answer its request
            (unless ``allow_sampling``); without it, requests are refused.
        answer_elicitation: answers servers' requests for input; without it they are declined.
        approve_tool: asked whether a tool call that needs approval may run (see ``approval``);
            returns a ``ToolApproval`` (once, for the session, or deny with a reason) or a bool,
            and may raise ``Refused(reason)`` when no one can be asked. Without it (and without
            ``yes`` or ``approve_with``) such calls are refused.
        authorize: shows the user a sign-in an HTTP MCP server asks for (the URL to open; it may
            also take the address the browser ended on, see ``AuthorizationPrompt.submit``);
            without it such a server fails to start, saying a sign-in is required. Tokens are
            kept in the user config directory and reused by later runs.
        cwd: the working directory (default: the current one).
        env: the real environment (default: ``os.environ``).
        tracer_provider: an OpenTelemetry ``TracerProvider`` for the runs' spans (turns
            tracing on). Without it, ``otel`` (or ``OTEL_EXPORTER_OTLP_ENDPOINT``) traces to the
            application's global provider if it set one, else to an OTLP exporter of the agent's
            own, flushed when the agent closes (see :mod:`agent.tracing`).

    Raises:
        ConfigError: an option is wrong (one line naming it).
    """

    def __init__(
        self,
        options: AgentOptions | None = None,
        /,
        *,
        on_event: EventSink | None = None,
        mcp_servers: Mapping[str, ServerTarget] | None = None,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        approve_sampling: SamplingApprover | None = None,
        answer_elicitation: ElicitationHandler | None = None,
        authorize: AuthorizationHandler | None = None,
        approve_tool: ToolApprover | None = None,
        tracer_provider: TracerProvider | None = None,
        **keywords: Any,
    ) -> None:
        if options is not None and keywords:
            checked = parse_options(keywords)
            options = dataclasses.replace(options, **{name: getattr(checked, name) for name in keywords})
        self.options = options if options is not None else parse_options(keywords)
        self.on_event = on_event
        self.approve_sampling = approve_sampling
        self.answer_elicitation = answer_elicitation
        self.authorize = authorize
        self.approve_tool = approve_tool
        self.tracer_provider = tracer_provider
        self._tracing: Tracing | None = None
        self._approved: set[tuple[str, str]] = set()
        """Tools allowed for the session: for the rest of this agent's life."""
        self._gate: ToolGate | None = None
        self._extra_servers = dict(mcp_servers or {})
        self._cwd = cwd
        self._env = env
        self._stack: AsyncExitStack | None = None
        self._endpoint: Endpoint | None = None
        self._manager: McpManager | None = None
        self._http: httpx.AsyncClient | None = None
        self._models: dict[str, tuple[ChatModel, RunOptions]] = {}
        self._suggestions: dict[str, tuple[str, ...]] = {}
        self._schema: OutputSchema | None = None
        self._resolved: ResolvedModel | None = None
        self._servers_only = False
        self._store: SessionStore | None = None
        self._toolset: Toolset | None = None
        self._told_store_failure: str | None = None

    def __repr__(self) -> str:
        return f"Agent(model={self.options.model!r}, servers={self.options.servers!r})"

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Agent:
        if self._stack is not None:
            raise RuntimeError("this Agent is already entered")
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException as exc:
            self._reset()
            await stack.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack = self._stack, None
        self._reset()
        if stack is not None:
            await stack.__aexit__(exc_type, exc, tb)

    def _reset(self) -> None:
        self._endpoint = self._manager = self._http = self._resolved = None
        self._models = {}
        self._schema = None
        self._tracing = None

    async def _start(self, stack: AsyncExitStack) -> None:
        from agent.cache import user_cache_dir
        from agent.config.paths import user_config_dir
        from agent.mcp.eras import EraStore
        from agent.mcp.manager import McpManager
        from agent.mcp.oauth import OAuthOptions

        options = self.options
        endpoint = self._endpoint = open_endpoint(
            options.provider, options.config, cwd=self._cwd, env=self._env
        )
        if endpoint.project.status in ("untrusted", "changed"):
            self._emit(Notice(level="info", message=endpoint.project.describe()))
        model_id = self.model_id
        if not model_id.strip() and not self._servers_only:
            raise ConfigError("a model id must not be empty", source="--model")
        plan = plan_servers(options, endpoint, self._extra_servers)
        self._gate = self._tool_gate(plan.targets, endpoint.cwd)
        # Server processes first: their start-up overlaps the imports and the catalog look-up.
        manager = McpManager(
            plan.targets,
            disabled=plan.disabled,
            on_event=self._emit,
            wait=False,
            features=self._client_features(endpoint),
            eras=EraStore.in_cache_dir(user_cache_dir(endpoint.env)),
            oauth=OAuthOptions(
                on_authorize=self.authorize, store_dir=user_config_dir(endpoint.env) / "oauth"
            ),
        )
        self._manager = await stack.enter_async_context(manager)
        if self._servers_only:
            await manager.wait_started()
            return
        from agent.providers.openai_compat import create_http_client

        transport = self._replay_transport(stack)
        self._toolset = self.wrap_toolset(self._toolset or manager)
        self._http = await stack.enter_async_context(
            create_http_client(endpoint.provider.config.timeout_seconds, transport=transport)
        )
        if options.replay is None:  # a replay needs no key: nothing leaves the process
            endpoint.provider.require_api_key()
        from agent.tracing import Tracing

        self._tracing = Tracing.open(
            otel=options.otel,
            otel_content=options.otel_content,
            env=endpoint.env,
            provider_name=endpoint.name,
            base_url=endpoint.base_url,
            secrets=(endpoint.optional_key() or "",),
            tracer_provider=self.tracer_provider,
            notify=self._emit,
        )
        if self._tracing is not None:  # its spans are flushed before the servers stop
            stack.push_async_callback(self._tracing.aclose)
        async with anyio.create_task_group() as tg:
            tg.start_soon(manager.wait_started)
            # (not while recording or replaying: a recording holds the run's exchanges only)
            if options.max_cost is not None and endpoint.name == "openrouter" and not self._replaying():
                tg.start_soon(self._check_credit, options.max_cost)
            await self._prepare(model_id, primary=True)
        if options.strict_servers and manager.failed:
            raise manager.failed[0].error or ConfigError("an MCP server failed to start")

    def wrap_toolset(self, toolset: Toolset) -> Toolset:
        """The tools every run uses, from the attached servers' ``toolset`` (this returns it as it is).

        A subclass may wrap it, as durable batches do to make each call a checkpoint
        (:class:`agent.batch.runner.DurableAgent`); with ``chat_model`` it is the place to wrap
        what a run talks to.
        """
        return toolset

    def _replay_transport(self, stack: AsyncExitStack) -> httpx.AsyncBaseTransport | None:
        """The HTTP transport of ``--record`` or ``--replay`` (and their toolsets); None: the network.

        Raises:
            ConfigError: both are given, ``--replay-tools`` without ``--replay``, or the file
                cannot be written or read.
        """
        options, endpoint = self.options, self.endpoint
        assert self._manager is not None
        self._toolset = self._manager
        if options.replay_tools and options.replay is None:
            raise ConfigError("--replay-tools goes with --replay FILE", source="--replay-tools")
        if options.record is not None and options.replay is not None:
            raise ConfigError("give one of --record and --replay", source="--record")
        if options.record is not None:
            import httpx

            from agent.providers.openai_compat import http_limits
            from agent.replay.recording import RecordFile, RecordingToolset, RecordingTransport

            path = options.record if options.record.is_absolute() else endpoint.cwd / options.record
            file = RecordFile(path, secrets=self.secrets())
            stack.callback(file.close)
            self._toolset = RecordingToolset(self._manager, file)
            return RecordingTransport(httpx.AsyncHTTPTransport(limits=http_limits()), file)
        if options.replay is not None:
            from agent.replay.replaying import Recording, ReplayToolset, ReplayTransport

            path = options.replay if options.replay.is_absolute() else endpoint.cwd / options.replay
            recording = Recording(path)
            if options.replay_tools:
                self._toolset = ReplayToolset(self._manager, recording)
            return ReplayTransport(recording)
        return None

    def _replaying(self) -> bool:
        return self.options.record is not None or self.options.replay is not None

    async def _check_credit(self, budget: float) -> None:
        """Say so (a Notice) when the API key has less credit left than ``budget`` (``--max-cost``).

        Only a warning: the run may still cost less, and OpenRouter refuses a request the key
        cannot pay for (402). A key without a limit (``limit_remaining`` None) is not checked.
        """
        from agent.budget import usd
        from agent.errors import ProviderError
        from agent.providers.key_info import fetch_key_info

        endpoint = self.endpoint
        try:
            info = await fetch_key_info(self.http, endpoint.base_url, endpoint.provider.require_api_key())
        except ProviderError as exc:
            self._emit(Notice(level="info", message=f"could not check the API key's credit: {exc}"))
            return
        left = info.limit_remaining
        if left is not None and left < budget:
            self._emit(
                Notice(
                    message=f"the API key has {usd(left)} of credit left, less than the --max-cost of "
                    f"${budget:g}: the run may stop early with 402 (insufficient credits)"
                )
            )

    def _tool_gate(self, targets: Mapping[str, ServerTarget], cwd: Path) -> ToolGate:
        """The policy of this agent's tool calls: its options, and each configured server's lists.

        Raises:
            ConfigError: the ``approve_with`` command cannot be parsed or run, or comes with ``yes``.
        """
        from agent.approval import ToolGate, hook_command
        from agent.config.servers import HttpServerConfig, StdioServerConfig
        from agent.policy import ServerRules, ToolPolicy

        options = self.options
        rules = {
            name: ServerRules(
                allow=tuple(target.allow) if target.allow is not None else None, deny=tuple(target.deny)
            )
            for name, target in targets.items()
            if isinstance(target, StdioServerConfig | HttpServerConfig)
            and (target.allow is not None or target.deny)
        }
        policy = ToolPolicy.build(
            allow=options.allow, deny=options.deny, servers=rules, approval=options.approval
        )
        hook = None
        if options.approve_with is not None:
            if options.yes:
                raise ConfigError("give one of --yes and --approve-with, not both", source="--approve-with")
            hook = hook_command(options.approve_with, cwd)
        return ToolGate(
            policy,
            yes=options.yes,
            hook=hook,
            approver=self.approve_tool,
            cwd=cwd,
            approved=self._approved,
        )

    def _client_features(self, endpoint: Endpoint) -> ClientFeatures:
        """What the agent offers its servers: roots, sampling, elicitation, and the logs it wants.

        Raises:
            ConfigError: a root is not a directory.
        """
        from agent.mcp.client_features import ClientFeatures

        roots = []
        for root in self.options.roots or [str(endpoint.cwd)]:
            path = Path(root).expanduser()
            path = (path if path.is_absolute() else endpoint.cwd / path).resolve()
            if not path.is_dir():
                raise ConfigError(f"not a directory: {root}", source="--root")
            roots.append(path)
        return ClientFeatures(
            roots=tuple(dict.fromkeys(roots)),
            sampler=self._sample,
            elicitor=self._elicit,
            log_level=self.options.server_log_level,
        )

    async def _sample(
        self, request: SamplingRequest, tools: Sequence[ToolSpec], settings: RequestSettings
    ) -> ModelResponse:
        """One completion by the agent's model for a server, if allowed (else ``Refused``)."""
        from agent.budget import price_of, priced
        from agent.mcp.client_features import Refused
        from agent.messages import SystemMessage
        from agent.run_context import RunContext

        if self._servers_only or self._http is None:
            raise Refused("there is no model to answer it here")
        if not self.options.allow_sampling:
            if self.approve_sampling is None:
                raise Refused("sampling is not allowed (--allow-sampling, or allow_sampling=True, allows it)")
            if not await self.approve_sampling(request):
                raise Refused("not approved")
        chat, run_options = await self._prepare(self.model_id)
        messages: list[Message] = list(request.messages)
        if request.system_prompt:
            messages.insert(0, SystemMessage(content=request.system_prompt))
        # The completion counts toward the run whose tool call the server is serving, if known.
        scope = CURRENT_CALL.get()
        spending = scope.spending if scope is not None else None
        prices = run_options.prices or {}
        if spending is not None and spending.limited:
            settings = _within_budget(spending, prices, messages, tools, settings)
        response = await chat.complete(messages, tools, settings, run=RunContext())
        model = response.model or chat.model_name
        price = price_of(prices, model)
        if spending is not None:
            usage = spending.add(model, response.usage, price)
        else:
            usage = priced(response.usage, price)
        return response.model_copy(update={"model": model, "usage": usage})

    async def _elicit(self, request: ElicitationRequest) -> ElicitationAnswer:
        """A server's request for input, answered by the ``answer_elicitation`` handler (if any)."""
        from agent.mcp.client_features import Refused

        if self.answer_elicitation is None:
            raise Refused("there is no one to answer it (no answer_elicitation handler)")
        return await self.answer_elicitation(request)

    async def aclose(self) -> None:
        """Stop the servers and close the HTTP pool (as leaving ``async with`` does)."""
        await self.__aexit__(None, None, None)

    @asynccontextmanager
    async def servers_only(self) -> AsyncIterator[Agent]:
        """Enter the agent with its MCP servers only: no model, no API key, no HTTP pool.

        The servers are chosen (and project trust applied) exactly as for a run; the agent can
        list what they offer and read from them, but not :meth:`run`.
        """
        if self._stack is not None:
            raise RuntimeError("this Agent is already entered")
        self._servers_only = True
        try:
            async with self:
                yield self
        finally:
            self._servers_only = False

    # -- what an entered agent knows --------------------------------------------------------

    @property
    def endpoint(self) -> Endpoint:
        """The provider in use (after entering)."""
        if self._endpoint is None:
            raise RuntimeError("enter the Agent first: `async with Agent(...) as agent:`")
        return self._endpoint

    @property
    def http(self) -> httpx.AsyncClient:
        """The shared HTTP pool (after entering)."""
        if self._http is None:
            raise RuntimeError("enter the Agent first: `async with Agent(...) as agent:`")
        return self._http

    @property
    def model_id(self) -> str:
        """The model runs use unless told otherwise (the provider's ``default_model`` if not set)."""
        return self.options.model or self.endpoint.provider.config.default_model

    @property
    def resolved(self) -> ResolvedModel | None:
        """What is known about the primary model (catalog, overrides, probes), once entered."""
        return self._resolved

    @property
    def toolset(self) -> Toolset:
        """The tools runs use unless given their own: those of every attached server (once entered)."""
        toolset = self._toolset or self._manager
        if toolset is None:
            raise RuntimeError("enter the Agent first: `async with Agent(...) as agent:`")
        return toolset

    def servers(self) -> list[ServerReport]:
        """Each configured server: active, failed or disabled, with its tool count."""
        return self._manager.reports() if self._manager is not None else []

    async def use_model(self, model: str | None = None, *, fallbacks: Sequence[str] | None = None) -> str:
        """Later runs use ``model`` and/or ``fallbacks`` (an entered agent: the servers keep running).

        The model is looked up as on entering (a warning event for an id the catalog lacks).
        Returns the model id in use. ``agent chat``'s ``/model`` and ``/fallback`` call this.

        Raises:
            ConfigError: an empty model id, or options the new model cannot take.
        """
        if self._stack is None or self._servers_only:
            raise RuntimeError("enter the Agent first: `async with Agent(...) as agent:`")
        changes: dict[str, Any] = {}
        if model is not None:
            if not model.strip():
                raise ConfigError("a model id must not be empty", source="--model")
            changes["model"] = model.strip()
        if fallbacks is not None:
            changes["fallbacks"] = list(fallbacks)
        checked = parse_options(changes)
        before = (self.options, self._models, self._resolved)
        self.options = dataclasses.replace(self.options, **{n: getattr(checked, n) for n in changes})
        self._models = {}  # the primary's chain changed: every chat model is built afresh
        try:
            await self._prepare(self.model_id, primary=True)
        except BaseException:
            self.options, self._models, self._resolved = before
            raise
        return self.model_id

    def session_store(self) -> SessionStore:
        """The session store runs are written to (an entered agent; closed when it exits)."""
        if self._stack is None:
            raise RuntimeError("enter the Agent first: `async with Agent(...) as agent:`")
        return self._session_store()

    # -- what the servers offer (entered or not: an agent not entered starts its servers only) --

    @asynccontextmanager
    async def _servers(self) -> AsyncIterator[McpManager]:
        if self._stack is None:
            async with self.servers_only():
                assert self._manager is not None
                yield self._manager
        else:
            assert self._manager is not None
            yield self._manager

    async def list_servers(self) -> list[ServerEntry]:
        """Each configured server: status, transport, protocol version, start-up time, counts."""
        async with self._servers() as manager:
            return await manager.server_entries()

    async def list_tools(self) -> list[ToolEntry]:
        """Every tool of the active servers, with the name the model sees, annotations and schema."""
        async with self._servers() as manager:
            return await manager.tool_entries()

    async def list_prompts(self) -> list[PromptEntry]:
        """Every prompt of the active servers, with its arguments."""
        async with self._servers() as manager:
            return await manager.prompt_entries()

    async def list_resources(self) -> list[ResourceEntry]:
        """Every resource and resource template of the active servers."""
        async with self._servers() as manager:
            return await manager.resource_entries()

    async def read_resource(self, server: str, uri: str) -> list[ResourceContent]:
        """Read resource ``uri`` of ``server``.

        Raises:
            ConfigError: no such server is attached, or it has no such resource.
            McpError: the server is not running or failed the request.
        """
        async with self._servers() as manager:
            return await manager.read_resource(server, uri)

    async def get_prompt(
        self, server: str, name: str, arguments: Mapping[str, str] | None = None
    ) -> list[Message]:
        """The messages of prompt ``name`` of ``server``, filled in with ``arguments``.

        Raises:
            ConfigError: the server or prompt is unknown, or an argument is unknown or missing.
            McpError: the server is not running or failed the request.
        """
        async with self._servers() as manager:
            return await manager.get_prompt(server, name, arguments or {}, limit=self._resource_chars())

    def _resource_chars(self) -> int:
        from agent.mcp.content import DEFAULT_RESOURCE_CHARS

        return self.options.max_tool_output or DEFAULT_RESOURCE_CHARS

    def chat_model(
        self,
        model_id: str | None = None,
        *,
        retries: int | None = None,
        extras: RequestExtras | None = None,
        fallbacks: bool = True,
    ) -> ChatModel:
        """A chat model for ``model_id`` on this endpoint and HTTP pool (fallbacks: the primary only).

        ``extras`` are the routing and reasoning its requests carry (default: the agent's options
        and provider file, unchecked against the model). ``fallbacks=False``: the model alone.
        """
        from agent.providers.factory import build_chat_model
        from agent.providers.routing import request_extras

        endpoint = self.endpoint
        config = endpoint.provider.config
        model_id = model_id or self.model_id
        primary = model_id == self.model_id and fallbacks
        chain = [*self.options.fallbacks, *config.fallback_models] if primary else []
        chosen = retries if retries is not None else self.options.retries
        return build_chat_model(
            client=self.http,
            provider_name=endpoint.name,
            base_url=endpoint.base_url,
            api_key=endpoint.provider.require_api_key() if self.options.replay is None else None,
            model=model_id,
            fallbacks=chain,
            max_retries=config.max_retries if chosen is None else chosen,
            extra_headers=config.headers,
            extras=extras or request_extras(self.options, config.provider, config.reasoning),
            auto_fallback=self.options.auto_fallback or config.auto_fallback,
        )

    async def resolve(self, model_id: str, *, catalog: Any = None) -> ResolvedModel:
        """What is known about ``model_id`` on this endpoint: catalog, overrides, probe results."""
        from agent.models.resolution import resolve_model

        endpoint = self.endpoint
        return await resolve_model(
            self.http,
            base_url=endpoint.base_url,
            api_key=endpoint.optional_key(),
            model=model_id,
            env=endpoint.env,
            cwd=endpoint.cwd,
            config_dir=endpoint.config_dir,
            catalog=catalog,
        )

    async def embed(
        self,
        texts: Sequence[str],
        *,
        model: str,
        dimensions: int | None = None,
        batch_size: int = 64,  # agent.providers.embeddings.DEFAULT_BATCH_SIZE
        concurrency: int = 4,  # DEFAULT_CONCURRENCY (not imported here: it would import httpx)
    ) -> Embeddings:
        """The vector of each of ``texts`` from embedding model ``model``, in input order.

        ``model`` is required: the agent's model and the provider's ``default_model`` are chat
        models. Texts go out ``batch_size`` per request, ``concurrency`` requests at a time. An
        entered agent uses its HTTP pool; one not entered (or entered with ``servers_only()``)
        opens just its endpoint and a client for the call: no MCP server starts.

        Raises:
            ConfigError: no texts or an empty one, an empty model id, a bad size, or no API key.
            ProviderError: a request failed after retries (a refused key or no credits exit 4).
        """
        from agent.providers.embeddings import embed_texts

        endpoint = self._endpoint or open_endpoint(
            self.options.provider, self.options.config, cwd=self._cwd, env=self._env
        )
        config = endpoint.provider.config
        replaying = self._http is not None and self.options.replay is not None

        async def send(http: httpx.AsyncClient) -> Embeddings:
            return await embed_texts(
                http,
                texts,
                model=model,
                base_url=endpoint.base_url,
                api_key=None if replaying else endpoint.provider.require_api_key(),
                dimensions=dimensions,
                batch_size=batch_size,
                concurrency=concurrency,
                max_retries=config.max_retries if self.options.retries is None else self.options.retries,
                extra_headers=config.headers,
            )

        if self._http is not None:
            return await send(self._http)
        from agent.providers.openai_compat import create_http_client

        async with create_http_client(config.timeout_seconds) as http:
            return await send(http)

    def _run_options(self, resolved: ResolvedModel) -> RunOptions:
        from agent.core.run_setup import run_options_for

        return run_options_for(
            self.options,
            self.endpoint,
            resolved,
            primary=self.model_id,
            output_schema=self._output_schema(),
            emit=self._emit,
        )

    def _output_schema(self) -> OutputSchema | None:
        """``--schema``, read once (a file is read when the first run needs it)."""
        if self.options.schema and self._schema is None:
            from agent.structured import load_schema

            self._schema = load_schema(self.options.schema, self.endpoint.cwd)
        return self._schema

    async def _prepare(
        self, model_id: str, *, primary: bool = False, pin: str | None = None
    ) -> tuple[ChatModel, RunOptions]:
        """The chat model and run options for ``model_id``, built once per agent and model.

        ``pin``: an endpoint tag; every request goes to that provider alone, without fallbacks.
        """
        key = model_id if pin is None else f"{model_id} {pin}"  # (model ids have no spaces)
        known = self._models.get(key)
        if known is not None:
            return known
        resolved = await self.resolve(model_id)
        if primary:
            self._resolved = resolved
        if resolved.warning:
            self._emit(Notice(message=resolved.warning))
        if resolved.info:
            self._emit(Notice(level="info", message=resolved.info))
        from agent.core.extras import extras_for

        config = self.endpoint.provider.config
        extras, notes = extras_for(self.options, config, resolved.capabilities)
        for note in notes:
            self._emit(Notice(message=note))
        from agent.core.provider_verdicts import pinned, routed_by_verdicts

        if pin is not None:
            extras = pinned(extras, pin)
        else:
            shared = model_id == self.model_id and bool(self.options.fallbacks or config.fallback_models)
            extras, routed = routed_by_verdicts(extras, resolved.probe, model=model_id, shared=shared)
            if routed:
                self._emit(Notice(level="info", message=routed))
        chat = self.chat_model(model_id, extras=extras, fallbacks=pin is None)
        prepared = (chat, self._run_options(resolved))
        self._models[key] = prepared
        self._suggestions[model_id] = resolved.suggestions
        return prepared

    # -- runs --------------------------------------------------------------------------------

    async def run(
        self,
        prompt: str | None = None,
        *,
        on_event: EventSink | None = None,
        history: list[Message] | None = None,
        model: str | None = None,
        output_schema: type[BaseModel] | Mapping[str, Any] | None = None,
        pin_provider: str | None = None,
        toolset: Toolset | None = None,
        **overrides: Any,
    ) -> RunResult:
        """Run the agent on ``prompt`` until the model answers or a limit stops it.

        Failures of the model or its provider do not raise: the result says what happened
        (``stop_reason``, ``error``), as ``agent run --json`` does.

        The options ``resources`` (``SERVER:URI``) and ``server_prompt`` (``SERVER:NAME``, with
        ``prompt_args``) open the conversation with the resources, each a user message labelled
        with its URI, then the server prompt's messages; ``prompt`` follows them. With a server
        prompt, ``prompt`` may be left out: the prompt's last message (a user message) is the task.

        Args:
            prompt: the task.
            on_event: receives this run's events (besides the agent's ``on_event``).
            history: earlier messages, extended in place with this run's.
            model: run on another model of the same endpoint (its capabilities are looked up).
            output_schema: the answer must be JSON matching this pydantic model (``result.data``
                is then an instance of it) or JSON Schema (``result.data`` the JSON value);
                instead of the agent's ``schema``.
            pin_provider: send every request to this provider endpoint alone (a tag of
                :func:`agent.models.endpoints.fetch_endpoints`, e.g. ``deepinfra/fp8``), no fallbacks.
            toolset: the tools of this run instead of :attr:`toolset` (e.g. some of the servers,
                or a server started for this run); its calls still pass the agent's policy.
            overrides: this run's own limits and request options, by their option names:
                ``max_turns``, ``max_cost``, ``max_total_tokens``, ``timeout``, ``tool_timeout``,
                ``stream``, ``system``; and its own ``resources``, ``server_prompt``, ``prompt_args``.

        Raises:
            ConfigError: the prompt is empty, or (when the agent is not entered yet) an option
                or file is wrong, or a resource or server prompt is unknown or lacks an argument.
            McpError: a server to read a resource or prompt from is not running or failed.
        """
        opening, overrides = opening_options(self.options, overrides)
        prompt = prompt or ""
        if not prompt.strip() and opening.server_prompt is None:
            raise ConfigError("the prompt is empty", source="PROMPT")
        if self._stack is None:
            async with self:
                return await self.run(
                    prompt,
                    on_event=on_event,
                    history=history,
                    model=model,
                    output_schema=output_schema,
                    pin_provider=pin_provider,
                    toolset=toolset,
                    **overrides,
                    **given_opening(opening),
                )
        if self._servers_only:
            raise RuntimeError(
                "this Agent was entered with servers_only(); enter it with `async with agent:`"
            )
        from agent.loop import run_agent

        assert self._manager is not None
        chat, options = await self._prepare(model or self.model_id, pin=pin_provider)
        if overrides:
            options = overridden(options, overrides)
        if output_schema is not None:
            from agent.structured import OutputSchema, schema_of

            options = dataclasses.replace(options, output_schema=OutputSchema.of(schema_of(output_schema)))
        recorder, history = self._session(opening, history, title=prompt or str(opening.server_prompt))
        options = self._sticky(options, recorder)
        transcript = recorder.transcript if recorder is not None else None
        try:
            history, prompt = await self._opening(opening, prompt, options.system, history)
            sinks = [sink for sink in (self.on_event, on_event, recorder) if sink is not None]
            spans = self._tracing.run() if self._tracing is not None else None
            if spans is not None:
                sinks.append(spans)
            emit: EventSink | None = None
            if sinks:  # events are built only when someone listens
                from agent.run_events import RunEvents

                session_id = recorder.session_id if recorder is not None and recorder.store else None
                emit = RunEvents(sinks, session_id=session_id, servers=self.servers)
            model_id = model or self.model_id

            async def settle(result: RunResult) -> None:
                await self._settle_error(result, model_id)

            with spans if spans is not None else nullcontext():
                result = await run_agent(
                    chat,
                    toolset or self._toolset or self._manager,
                    prompt,
                    options,
                    on_event=emit,
                    history=history,
                    gate=self._gate,
                    settle=settle,
                )
        finally:
            if transcript is not None:
                transcript.close()
        if recorder is not None and recorder.store is not None:
            result.session_id = recorder.session_id
            failure = recorder.store.failure
            if failure is not None and failure != self._told_store_failure:
                self._told_store_failure = failure
                self._emit(Notice(message=failure))
        if options.protocol == "native" and result.tool_protocol == "text":
            self._remember_text_protocol(model_id)
        result.servers = self.servers()
        if isinstance(output_schema, type) and result.stop_reason == "completed":
            from agent.structured import as_instance

            as_instance(result, output_schema)
        return result

    async def _settle_error(self, result: RunResult, model_id: str) -> None:
        """A run's error completed: the catalog's suggestions for an unknown model, ``/key`` for 402/429."""
        suggestions = self._suggestions.get(model_id)
        ended = result.exception
        if isinstance(ended, ModelNotFoundError) and suggestions and not ended.fallback_models:
            result.fail(with_suggestions(ended, suggestions))
        elif isinstance(ended, InsufficientCreditsError | RateLimitError):
            result.fail(await self._with_key_figures(ended))

    async def _with_key_figures(self, error: ProviderError) -> ProviderError:
        """A 402 or 429 saying what OpenRouter's ``GET /key`` reports (see :mod:`agent.providers.credits`)."""
        from agent.providers.credits import with_key_figures

        endpoint = self.endpoint
        api_key = endpoint.optional_key()
        if endpoint.name != "openrouter" or api_key is None or self.options.replay is not None:
            return error
        return await with_key_figures(error, self.http, endpoint.base_url, api_key)

    async def generations(self, ids: Sequence[str]) -> list[GenerationLookup]:
        """What OpenRouter reports about each generation of a run (``RunResult.generation_ids``).

        ``GET /generation`` per id: provider, model, exact cost, latency, tokens. A fresh id may
        not be known yet: each is retried briefly before it is reported as not looked up.
        Endpoints other than OpenRouter have no such lookup: the answer is empty.
        """
        from agent.providers.generation import lookup_generations

        endpoint = self.endpoint
        if endpoint.name != "openrouter" or self.options.replay is not None:
            return []
        return await lookup_generations(self.http, endpoint.base_url, endpoint.optional_key(), ids)

    def _sticky(self, options: RunOptions, recorder: SessionRecorder | None) -> RunOptions:
        """``options`` with the run's ``session_id``, so OpenRouter keeps it on one provider.

        The stored session's id (a carried-on session stays where its cache is); a fresh one for
        a run that is not stored. None with ``--no-cache``.
        """
        from agent.core.extras import prompt_cache_on

        if not prompt_cache_on(self.options, self.endpoint.provider.config):
            return options
        if recorder is not None:
            session_id = recorder.session_id
        else:
            from agent.sessions.store import new_session_id

            session_id = new_session_id()
        return dataclasses.replace(options, session_id=session_id)

    def _session(
        self, own: AgentOptions, history: list[Message] | None, *, title: str
    ) -> tuple[SessionRecorder | None, list[Message] | None]:
        """Where the run is written down, and the history it starts from.

        The run goes to the session store (unless ``no_session``) and a transcript (if asked);
        it starts from a stored session's history when it carries one on.

        Raises:
            ConfigError: no session to carry on, a history given as well, or a transcript file
                that cannot be written.
        """
        carry = own.resume is not None or own.continue_session
        flag = "--resume" if own.resume is not None else "--continue"
        if own.no_session and carry:
            raise ConfigError("a run that stores nothing cannot carry on a session", source=flag)
        if own.no_session and own.transcript is None:
            return None, history
        from agent.sessions.recorder import SessionRecorder
        from agent.sessions.resume import choose_session, restore_history
        from agent.sessions.store import new_session_id

        endpoint = self.endpoint
        store = None if own.no_session else self._session_store()
        session_id, next_seq, runs = new_session_id(), 1, 0
        if carry:
            assert store is not None
            if history:
                raise ConfigError(
                    "give earlier messages (history=) or a session to carry on, not both", source=flag
                )
            info = choose_session(store, resume=own.resume, cwd=str(endpoint.cwd))
            stored = store.messages(info.id)
            history = restore_history(stored)
            session_id, next_seq, runs = info.id, (stored[-1].seq + 1 if stored else 1), info.runs
        history = history if history is not None else []
        transcript = None
        if own.transcript is not None:
            path = own.transcript if own.transcript.is_absolute() else endpoint.cwd / own.transcript
            try:
                transcript = path.open("w", encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"cannot write {path}: {exc.strerror or exc}", source="--transcript"
                ) from exc
        return (
            SessionRecorder(
                history,
                session_id=session_id,
                stored=len(history) if carry else 0,  # a new session keeps given history= too
                next_seq=next_seq,
                runs=runs,
                store=store,
                transcript=transcript,
                cwd=str(endpoint.cwd),
                title=title,
                secrets=self.secrets(),
            ),
            history,
        )

    def _session_store(self) -> SessionStore:
        """The session store of this agent's user (opened once, closed when the agent exits)."""
        if self._store is None:
            from agent.config.paths import user_data_dir
            from agent.sessions.store import SessionStore

            endpoint = self.endpoint
            self._store = SessionStore(user_data_dir(endpoint.env, endpoint.cwd), secrets=self.secrets())
            assert self._stack is not None
            self._stack.callback(self._close_store)
        return self._store

    def _close_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            store.close()

    def secrets(self) -> list[str | None]:
        """Values never to write down: the API key and the provider's header values (once entered)."""
        endpoint = self.endpoint
        return [endpoint.optional_key(), *endpoint.provider.config.headers.values()]

    async def _opening(
        self, opening: AgentOptions, prompt: str, system: str | None, history: list[Message] | None
    ) -> tuple[list[Message] | None, str]:
        """The history a run starts from, with its resources and server prompt, and its prompt."""
        if not opening.resources and opening.server_prompt is None:
            return history, prompt
        from agent.mcp.opening import opening_messages
        from agent.messages import SystemMessage, UserMessage

        assert self._manager is not None
        added = await opening_messages(
            self._manager,
            resources=opening.resources,
            prompt=opening.server_prompt,
            prompt_args=opening.prompt_args,
            limit=self._resource_chars(),
        )
        if not prompt.strip():  # the server prompt's last message is the task
            last = added.pop() if added else None
            if not isinstance(last, UserMessage):
                raise ConfigError(
                    f"the prompt {opening.server_prompt} does not end with a user message; "
                    "give PROMPT to say what to do next",
                    source="PROMPT",
                )
            prompt = last.content
        messages = history if history is not None else []
        if not messages and system:
            messages.append(SystemMessage(content=system))
        messages.extend(added)
        return messages, prompt

    def run_sync(self, prompt: str | None = None, **kwargs: Any) -> RunResult:
        """:meth:`run` for plain scripts: enters the agent, runs once, leaves."""
        if self._stack is not None:
            raise RuntimeError("run_sync is for an Agent that is not entered; use `await agent.run(...)`")

        async def once() -> RunResult:
            return await self.run(prompt, **kwargs)

        return anyio.run(once)

    async def events(self, prompt: str | None = None, **kwargs: Any) -> AsyncIterator[Event]:
        """The events of one run of ``prompt`` as they happen, ending with ``RunFinished``."""
        send, receive = anyio.create_memory_object_stream[Event](max_buffer_size=math.inf)

        async def produce() -> None:
            async with send:
                await self.run(prompt, on_event=send.send_nowait, **kwargs)

        async with anyio.create_task_group() as tg, receive:
            tg.start_soon(produce)
            async for event in receive:
                yield event
                if isinstance(event, RunFinished):
                    break

    # -- helpers ----------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _remember_text_protocol(self, model_id: str) -> None:
        """A model with no tool endpoints starts later runs (of this agent and later ones) in text."""
        from agent.cache import user_cache_dir
        from agent.models.probe_store import ProbeStore

        prepared = self._models.get(model_id)
        if prepared is not None:
            chat, options = prepared
            self._models[model_id] = (chat, dataclasses.replace(options, protocol="text"))
        endpoint = self.endpoint
        try:
            ProbeStore.in_cache_dir(user_cache_dir(endpoint.env)).record_no_native_tools(
                endpoint.base_url, model_id
            )
        except ConfigError as exc:
            self._emit(Notice(message=f"could not remember the text protocol for {model_id}: {exc}"))


def _within_budget(
    spending: Spending,
    prices: Mapping[str, Price | None],
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    settings: RequestSettings,
) -> RequestSettings:
    """A server's sampling request as the run's limits allow it (fewer ``max_tokens``), or ``Refused``."""
    from agent.budget import worst_price
    from agent.mcp.client_features import Refused
    from agent.tokens import message_tokens, tools_tokens

    prompt = sum(message_tokens(m) for m in messages) + tools_tokens(tools)
    allowance = spending.allowance(prompt, worst_price(prices), settings.max_tokens)
    if allowance.stop:
        flag = "--max-cost" if allowance.limit == "max_cost" else "--max-tokens"
        raise Refused(f"the run's limit does not allow it: {allowance.reason} ({flag})")
    if allowance.max_output is not None:
        settings = settings.model_copy(update={"max_tokens": allowance.max_output})
    return settings
