"""``agent.tracing``: when tracing is on, and the spans a run's events make (in-memory exporter)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

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
from agent.messages import Usage
from agent.result import ErrorInfo, RunResult, ToolCallRecord
from agent.tracing import RunSpans, Tracing, call_trace, content_wanted, tracing_wanted

KEY = "sk-or-v1-unit-test-key-0123456789abcdef"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def tracing_for(provider: TracerProvider, *, content: bool = False) -> Tracing:
    tracing = Tracing.open(
        otel=False,
        otel_content=content,
        env={},
        provider_name="openrouter",
        base_url="https://openrouter.ai/api/v1",
        secrets=(KEY,),
        tracer_provider=provider,
    )
    assert tracing is not None
    return tracing


def spans_of(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def feed(spans: RunSpans, *events: Event) -> None:
    for event in events:
        spans(event)


def responded(turn: int, finish_reason: str = "stop") -> ModelResponded:
    return ModelResponded(
        turn=turn,
        model="vendor/fallback",
        content=None,
        tool_calls=0,
        finish_reason=finish_reason,
        usage=Usage(prompt_tokens=7, completion_tokens=3, total_tokens=10),
        duration_ms=1.0,
    )


def record(call_id: str, output: str, *, is_error: bool = False) -> ToolCallRecord:
    return ToolCallRecord(
        id=call_id,
        server="fs",
        tool="read_file",
        arguments={},
        output=output,
        is_error=is_error,
        duration_ms=1.0,
    )


STARTED = RunStarted(model="vendor/model", tools=1, tool_protocol="native")


@pytest.mark.parametrize(
    ("otel", "env", "wanted"),
    [
        (False, {}, False),
        (True, {}, True),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        (False, {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        (True, {"OTEL_SDK_DISABLED": "true"}, False),
        (False, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "TRUE"}, False),
        (True, {"OTEL_SDK_DISABLED": "false"}, True),
    ],
)
def test_tracing_is_on_with_the_flag_or_an_otlp_endpoint_unless_the_sdk_is_disabled(
    otel: bool, env: dict[str, str], wanted: bool
) -> None:
    assert tracing_wanted(otel, env) is wanted


@pytest.mark.parametrize(
    ("flag", "value", "wanted"),
    [
        (False, None, False),
        (True, None, True),
        (False, "true", True),
        (False, "True", True),
        (False, "SPAN_ONLY", True),
        (False, "false", False),
        (False, "NO_CONTENT", False),
    ],
)
def test_content_is_captured_with_the_flag_or_the_standard_variable(
    flag: bool, value: str | None, wanted: bool
) -> None:
    env = {} if value is None else {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}
    assert content_wanted(flag, env) is wanted


def test_tracing_off_opens_nothing() -> None:
    assert Tracing.open(otel=False, otel_content=True, env={}, provider_name="openrouter") is None


def test_otel_without_the_extra_is_a_config_error_and_the_variable_alone_only_a_notice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    with pytest.raises(ConfigError, match=r"pip install 'agent\[otel\]'") as caught:
        Tracing.open(otel=True, otel_content=False, env={}, provider_name="openrouter")
    assert caught.value.source == "--otel"
    told: list[Event] = []
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert (
        Tracing.open(otel=False, otel_content=False, env=env, provider_name="x", notify=told.append) is None
    )
    [notice] = told
    assert isinstance(notice, Notice) and notice.level == "info" and "no spans are sent" in notice.message


@pytest.mark.anyio
async def test_the_applications_own_provider_is_used_and_left_open(
    monkeypatch: pytest.MonkeyPatch, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    tracing = Tracing.open(otel=True, otel_content=False, env={}, provider_name="openrouter")
    assert tracing is not None
    await tracing.aclose()  # not ours to shut down
    with tracing.run() as spans:
        feed(spans, STARTED, RunFinished(result=RunResult(model="vendor/model")))
    assert list(spans_of(exporter)) == ["invoke_agent"]


@pytest.mark.anyio
async def test_an_otlp_provider_of_its_own_is_set_up_from_the_environment_and_shut_down() -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    tracing = Tracing.open(otel=False, otel_content=False, env=env, provider_name="openrouter")
    assert tracing is not None and tracing._owned is not None
    owned = tracing._owned
    assert owned.resource.attributes["service.name"] == "agent"
    shut: list[bool] = []
    real = owned.shutdown
    owned.shutdown = lambda: shut.append(True) or real()  # type: ignore[method-assign]
    await tracing.aclose()  # nothing to send: returns at once
    await tracing.aclose()  # once only
    assert shut == [True] and tracing._owned is None


def test_chat_spans_note_retries_and_fallbacks_and_the_model_that_answered(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with tracing_for(provider).run() as spans:
        feed(
            spans,
            STARTED,
            TurnStarted(turn=1),
            Retrying(model="vendor/model", attempt=1, delay=0.5, error=f"502 upstream (key {KEY})"),
            FallingBack(from_model="vendor/model", to_model="vendor/fallback", error="503"),
            responded(1),
            RunFinished(
                result=RunResult(model="vendor/fallback", usage=Usage(prompt_tokens=7, completion_tokens=3))
            ),
        )
    chat = spans_of(exporter)["chat vendor/model"]
    assert [(event.name, dict(event.attributes or {})) for event in chat.events] == [
        ("retrying", {"gen_ai.request.model": "vendor/model", "attempt": 1, "delay": 0.5}),
        ("falling_back", {"from_model": "vendor/model", "to_model": "vendor/fallback"}),
    ]
    assert attributes(chat) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openrouter",
        "gen_ai.system": "openrouter",
        "gen_ai.request.model": "vendor/model",
        "server.address": "openrouter.ai",
        "server.port": 443,
        "gen_ai.response.model": "vendor/fallback",
        "gen_ai.usage.input_tokens": 7,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.response.finish_reasons": ("stop",),
    }
    assert attributes(spans_of(exporter)["invoke_agent"])["gen_ai.response.model"] == "vendor/fallback"


@pytest.mark.parametrize(
    ("stop_reason", "error", "error_type"),
    [
        ("error", ErrorInfo(type="Interrupted", message="interrupted by the user"), "Interrupted"),
        ("timeout", None, "timeout"),
        ("max_cost", None, "max_cost"),
    ],
)
def test_a_run_that_ends_during_a_request_fails_the_request_and_the_run(
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    stop_reason: Any,
    error: ErrorInfo | None,
    error_type: str,
) -> None:
    result = RunResult(model="vendor/model", stop_reason=stop_reason, error=error)
    with tracing_for(provider).run() as spans:
        feed(spans, STARTED, TurnStarted(turn=1), RunFinished(result=result))
    for span in spans_of(exporter).values():
        assert attributes(span)["error.type"] == error_type
        assert span.status.status_code is StatusCode.ERROR


def test_leaving_a_run_that_raised_ends_its_open_spans_with_the_error(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(RuntimeError), tracing_for(provider).run() as spans:
        feed(spans, STARTED, ToolCallStarted(id="c1", server="fs", tool="read_file", arguments={}))
        raise RuntimeError("a bug")
    assert {name: attributes(span)["error.type"] for name, span in spans_of(exporter).items()} == {
        "invoke_agent": "RuntimeError",
        "execute_tool read_file": "RuntimeError",
    }


def test_concurrent_tool_calls_are_told_apart_by_their_call_ids(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with tracing_for(provider).run() as spans:
        feed(
            spans,
            STARTED,
            ToolCallStarted(id="c1", server="fs", tool="read_file", arguments={"path": "a"}),
            ToolCallStarted(id="c2", server="fs", tool="read_file", arguments={"path": "b"}),
            ToolCallFinished(call=record("c2", "b", is_error=True)),
            ToolCallFinished(call=record("c1", "a")),
        )
    tools = [span for span in exporter.get_finished_spans() if span.name == "execute_tool read_file"]
    assert [
        (attributes(span)["gen_ai.tool.call.id"], attributes(span).get("error.type")) for span in tools
    ] == [
        ("c2", "tool_error"),
        ("c1", None),
    ]


def test_content_is_redacted_of_keys(provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
    with tracing_for(provider, content=True).run() as spans:
        feed(
            spans,
            STARTED,
            ToolCallStarted(id="c1", server="fs", tool="read_file", arguments={"path": KEY, "n": 1}),
            ToolCallFinished(call=record("c1", f"key={KEY} other=sk-abcdefghijklmnopqrstuvwx")),
        )
    tool = attributes(spans_of(exporter)["execute_tool read_file"])
    assert tool["gen_ai.tool.call.arguments"] == '{"path": "[redacted]", "n": 1}'
    assert tool["gen_ai.tool.call.result"] == "key=[redacted] other=[redacted]"


def test_a_traced_tool_call_gives_its_span_context_as_traceparent_while_it_runs(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    scope = CallScope("c1", None)
    with call_trace(scope) as meta:
        assert meta is None  # no traced run here
    with tracing_for(provider).run() as spans:
        feed(spans, STARTED, ToolCallStarted(id="c1", server="fs", tool="read_file", arguments={}))
        with call_trace(CallScope("other", None)) as meta:
            assert meta is None  # not a call of this run
        with call_trace(scope) as meta:
            current = trace.get_current_span().get_span_context()
        feed(spans, ToolCallFinished(call=record("c1", "done")))
        with call_trace(scope) as after:
            assert after is None
    tool = spans_of(exporter)["execute_tool read_file"].context
    assert tool is not None and current == tool
    assert meta == {"traceparent": f"00-{tool.trace_id:032x}-{tool.span_id:016x}-{tool.trace_flags:02x}"}
    assert trace.get_current_span() is trace.INVALID_SPAN  # the run's context is left as it was


def test_importing_the_agent_and_its_tracing_module_loads_no_opentelemetry() -> None:
    code = (
        "import sys, agent, agent.tracing, agent.core.agent, agent.mcp.connection\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
