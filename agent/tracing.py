"""OpenTelemetry spans of runs, after the GenAI semantic conventions, built from the run's events.

A run is one ``invoke_agent`` span; each model turn a ``chat {model}`` span (kind CLIENT) and
each tool call an ``execute_tool {tool}`` span, both its children. :class:`RunSpans` is an
:data:`~agent.events.EventSink`: it opens and closes the spans as the run's events arrive, so
the loop knows nothing of tracing. Tool arguments and results are attached only when asked
(``otel_content``, or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``); API keys
never are (content is redacted too).

A traced tool call carries its span's W3C context to the MCP server (``_meta.traceparent`` of
``tools/call``): the connection asks :func:`call_trace` for it, which costs one context variable
look-up when tracing is off.

Nothing here imports OpenTelemetry until tracing is on (``--otel``, ``otel=True``,
``OTEL_EXPORTER_OTLP_ENDPOINT`` set, or a ``tracer_provider`` given). Spans go to the given
provider, else to the application's global one if it has set one, else to a provider of our
own that exports OTLP over HTTP (the ``otel`` extra) and is flushed and shut down when the
agent closes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar, Token
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError
from agent.events import (
    CallScope,
    Event,
    FallingBack,
    ModelResponded,
    Notice,
    Retrying,
    RunFinished,
    RunStarted,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from agent.result import RunResult

__all__ = ["CallTrace", "RunSpans", "Tracing", "call_trace", "content_wanted", "tracing_wanted"]

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
"""Either one set turns tracing on, as ``--otel`` does."""
CONTENT_VAR = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
_CONTENT_ON = ("true", "span_only", "span_and_event")
TOOL_TYPE = "extension"
"""``gen_ai.tool.type``: MCP tools are run by the agent itself, not by the application."""
_INSTALL = "pip install 'agent[otel]'"


def tracing_wanted(otel: bool, env: Mapping[str, str]) -> bool:
    """Whether runs should be traced: ``--otel``, or an OTLP endpoint in the environment.

    ``OTEL_SDK_DISABLED=true`` turns tracing off, as it does every OpenTelemetry SDK.
    """
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return otel or any(env.get(name, "").strip() for name in ENDPOINT_VARS)


def content_wanted(otel_content: bool, env: Mapping[str, str]) -> bool:
    """Whether tool arguments and results go into the spans (``--otel-content``, or the standard variable)."""
    return otel_content or env.get(CONTENT_VAR, "").strip().lower() in _CONTENT_ON


class Tracing:
    """An agent's tracing: where its spans go and what they say of its endpoint.

    Args:
        tracer: the tracer spans are made with.
        provider_name: ``gen_ai.provider.name`` (the provider file's name, ``openrouter``).
        base_url: the API root (only its host and port go into spans).
        content: attach tool arguments and results.
        secrets: values never to appear in attached content (the API key).
        owned: a provider this object set up, and shuts down in :meth:`aclose`.
    """

    def __init__(
        self,
        tracer: Tracer,
        *,
        provider_name: str,
        base_url: str = "",
        content: bool = False,
        secrets: tuple[str, ...] = (),
        owned: SdkTracerProvider | None = None,
    ) -> None:
        from urllib.parse import urlsplit

        self.tracer = tracer
        self.content = content
        self.secrets = secrets
        self._owned = owned
        self.provider_attributes: dict[str, Any] = {
            "gen_ai.provider.name": provider_name,
            "gen_ai.system": provider_name,  # the name before gen_ai.provider.name; still read widely
        }
        self.server_attributes: dict[str, Any] = {}
        parts = urlsplit(base_url)
        if parts.hostname:
            self.server_attributes["server.address"] = parts.hostname
            port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
            if port is not None:
                self.server_attributes["server.port"] = port

    @classmethod
    def open(
        cls,
        *,
        otel: bool,
        otel_content: bool,
        env: Mapping[str, str],
        provider_name: str,
        base_url: str = "",
        secrets: tuple[str, ...] = (),
        tracer_provider: TracerProvider | None = None,
        notify: Callable[[Event], None] | None = None,
    ) -> Tracing | None:
        """The agent's tracing, or None when it is off (nothing of OpenTelemetry is imported then).

        Tracing is on with ``otel``, an OTLP endpoint in ``env``, or a ``tracer_provider``.

        Raises:
            ConfigError: ``otel`` asked for tracing, but the ``otel`` extra is not installed.
                (Asked only by the environment, tracing stays off and ``notify`` is told.)
        """
        if tracer_provider is None and not tracing_wanted(otel, env):
            return None
        from opentelemetry import trace

        from agent import __version__

        owned: SdkTracerProvider | None = None
        provider = tracer_provider
        if provider is None:
            current = trace.get_tracer_provider()
            if not isinstance(current, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
                provider = current  # the application's own: used as it is, never shut down here
        if provider is None:
            try:
                provider = owned = _otlp_provider(env)
            except ImportError:
                message = f"tracing needs the OpenTelemetry SDK and OTLP exporter: {_INSTALL}"
                if otel:
                    raise ConfigError(message, source="--otel") from None
                if notify is not None:
                    notify(Notice(level="info", message=f"{message}; no spans are sent"))
                return None
        return cls(
            provider.get_tracer("agent", __version__),
            provider_name=provider_name,
            base_url=base_url,
            content=content_wanted(otel_content, env),
            secrets=tuple(secret for secret in secrets if secret),
            owned=owned,
        )

    def run(self) -> RunSpans:
        """The spans of one run: an event sink, entered around the run."""
        return RunSpans(self)

    async def aclose(self) -> None:
        """Flush and shut down the provider this object set up (the export may take a moment)."""
        owned, self._owned = self._owned, None
        if owned is not None:
            import anyio

            await anyio.to_thread.run_sync(owned.shutdown)

    def redacted(self, text: str) -> str:
        """``text`` without the secrets, or anything shaped like a key."""
        from agent.redaction import redact

        return redact(text, self.secrets)


def _otlp_provider(env: Mapping[str, str]) -> SdkTracerProvider:
    """A provider exporting OTLP over HTTP (protobuf) in batches, configured by the ``OTEL_*`` variables.

    Raises:
        ImportError: the ``otel`` extra is not installed.
    """
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip() or None
    if endpoint is None and (base := env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()):
        endpoint = base.rstrip("/") + "/v1/traces"
    attributes: dict[str, Any] = {}
    named = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get("OTEL_RESOURCE_ATTRIBUTES", "")
    if not named:
        attributes["service.name"] = "agent"
    provider = SdkProvider(resource=Resource.create(attributes))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


_RUN: ContextVar[RunSpans | None] = ContextVar("agent_run_spans", default=None)
"""The traced run a task belongs to (set around the run; its tool calls' tasks inherit it)."""


class CallTrace:
    """A traced tool call, entered around the MCP request: its span is the current context.

    Entering gives the request's ``_meta`` (``traceparent``, and ``tracestate`` if any). With
    the span current, an OpenTelemetry-aware SDK sends the same context (or that of its own
    client span, a child of this one, when the application's provider records those too).
    """

    def __init__(self, context: Context) -> None:
        self._context = context
        self._token: Token[Context] | None = None

    def __enter__(self) -> dict[str, Any]:
        from opentelemetry import context
        from opentelemetry.propagate import inject

        meta: dict[str, Any] = {}
        inject(meta, context=self._context)
        self._token = context.attach(self._context)
        return meta

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from opentelemetry import context

        if self._token is not None:
            context.detach(self._token)
            self._token = None


_UNTRACED: AbstractContextManager[None] = nullcontext()


def call_trace(scope: CallScope | None) -> AbstractContextManager[dict[str, Any] | None]:
    """Enter around the MCP request of the tool call ``scope`` names: gives the request's ``_meta``.

    When the call's run is not traced this costs one context variable look-up, and gives None.
    """
    spans = _RUN.get()
    if spans is None or scope is None:
        return _UNTRACED
    return spans.call_trace(scope.call_id) or _UNTRACED


class RunSpans:
    """The spans of one run, opened and closed by its events (an :data:`~agent.events.EventSink`).

    Enter it around the run: the ``invoke_agent`` span starts (a child of the caller's current
    span, if any) and is the current context while the run goes on; leaving ends whatever the
    events did not (a run cancelled or failed before its last event).
    """

    def __init__(self, tracing: Tracing) -> None:
        self._tracing = tracing
        self._agent: Span | None = None
        self._context: Context | None = None
        self._chat: Span | None = None
        self._tools: dict[str, Span] = {}
        self._model = ""
        self._tokens: tuple[Token[Context], Token[RunSpans | None]] | None = None

    def __enter__(self) -> RunSpans:
        from opentelemetry import context, trace

        tracing = self._tracing
        self._agent = tracing.tracer.start_span(
            "invoke_agent",
            kind=trace.SpanKind.INTERNAL,
            attributes={"gen_ai.operation.name": "invoke_agent", **tracing.provider_attributes},
        )
        self._context = trace.set_span_in_context(self._agent)
        self._tokens = (context.attach(self._context), _RUN.set(self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        from opentelemetry import context

        for span in [self._chat, *self._tools.values(), self._agent]:
            if span is not None:  # the run ended without its last events: it raised
                if exc_type is not None:
                    _fail(span, exc_type.__name__)
                span.end()
        self._chat = self._agent = None
        self._tools.clear()
        if self._tokens is not None:
            attached, run = self._tokens
            self._tokens = None
            _RUN.reset(run)
            context.detach(attached)

    def call_trace(self, call_id: str) -> CallTrace | None:
        """The trace of tool call ``call_id`` while its span is open."""
        span = self._tools.get(call_id)
        if span is None:
            return None
        from opentelemetry import trace

        return CallTrace(trace.set_span_in_context(span))

    def __call__(self, event: Event) -> None:
        """Open or close the spans ``event`` starts or ends (other events are ignored)."""
        if isinstance(event, TurnStarted):
            self._turn_started()
        elif isinstance(event, ModelResponded):
            self._model_responded(event)
        elif isinstance(event, ToolCallStarted):
            self._tool_started(event)
        elif isinstance(event, ToolCallFinished):
            self._tool_finished(event)
        elif isinstance(event, Retrying):
            if self._chat is not None:
                self._chat.add_event(
                    "retrying",
                    {"gen_ai.request.model": event.model, "attempt": event.attempt, "delay": event.delay},
                )
        elif isinstance(event, FallingBack):
            if self._chat is not None:
                self._chat.add_event(
                    "falling_back", {"from_model": event.from_model, "to_model": event.to_model}
                )
        elif isinstance(event, RunStarted):
            self._model = event.model
            if self._agent is not None:
                self._agent.set_attribute("gen_ai.request.model", event.model)
                if event.session_id:
                    self._agent.set_attribute("gen_ai.conversation.id", event.session_id)
        elif isinstance(event, RunFinished):
            self._run_finished(event.result)

    def _turn_started(self) -> None:
        from opentelemetry import trace

        if self._chat is not None:  # a turn the events did not close (none should be left)
            self._chat.end()
        tracing = self._tracing
        self._chat = tracing.tracer.start_span(
            f"chat {self._model}".rstrip(),
            context=self._context,
            kind=trace.SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                **tracing.provider_attributes,
                "gen_ai.request.model": self._model,
                **tracing.server_attributes,
            },
        )

    def _model_responded(self, event: ModelResponded) -> None:
        span, self._chat = self._chat, None
        if span is None:
            return
        span.set_attributes(
            {
                "gen_ai.response.model": event.model,
                "gen_ai.usage.input_tokens": event.usage.prompt_tokens,
                "gen_ai.usage.output_tokens": event.usage.completion_tokens,
            }
        )
        if event.finish_reason:
            span.set_attribute("gen_ai.response.finish_reasons", [event.finish_reason])
        span.end()

    def _tool_started(self, event: ToolCallStarted) -> None:
        from opentelemetry import trace

        tracing = self._tracing
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": event.tool,
            "gen_ai.tool.call.id": event.id,
            "gen_ai.tool.type": TOOL_TYPE,
        }
        if tracing.content:
            arguments = event.arguments
            text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
            attributes["gen_ai.tool.call.arguments"] = tracing.redacted(text)
        previous = self._tools.pop(event.id, None)
        if previous is not None:  # the model reused a call id within one turn
            previous.end()
        self._tools[event.id] = tracing.tracer.start_span(
            f"execute_tool {event.tool}",
            context=self._context,
            kind=trace.SpanKind.INTERNAL,
            attributes=attributes,
        )

    def _tool_finished(self, event: ToolCallFinished) -> None:
        call = event.call
        span = self._tools.pop(call.id, None)
        if span is None:
            return
        if self._tracing.content:
            span.set_attribute("gen_ai.tool.call.result", self._tracing.redacted(call.output))
        if call.is_error:
            _fail(span, "tool_error")
        span.end()

    def _run_finished(self, result: RunResult) -> None:
        error = result.error.type if result.error is not None else None
        failure = error or (result.stop_reason if result.stop_reason != "completed" else None)
        message = self._tracing.redacted(result.error.message) if result.error is not None else None
        for span in [self._chat, *self._tools.values()]:
            if span is not None:  # a request or a call the run ended during
                _fail(span, failure or "cancelled", message)
                span.end()
        self._chat = None
        self._tools.clear()
        span, self._agent = self._agent, None
        if span is None:
            return
        span.set_attributes(
            {
                "gen_ai.usage.input_tokens": result.usage.prompt_tokens,
                "gen_ai.usage.output_tokens": result.usage.completion_tokens,
            }
        )
        if result.model:
            span.set_attribute("gen_ai.response.model", result.model)
        if failure is not None:
            _fail(span, failure, message)
        span.end()


def _fail(span: Span, error_type: str, message: str | None = None) -> None:
    """Mark ``span`` as failed: ``error.type`` and an error status."""
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("error.type", error_type)
    span.set_status(Status(StatusCode.ERROR, message))
