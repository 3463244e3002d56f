"""OpenTelemetry spans of real runs: ``Agent`` against the loopback OpenRouter and real MCP servers.

Spans are recorded by the SDK's in-memory exporter, through a provider handed to the agent
(``tracer_provider=``); the CLI test sends them over OTLP/HTTP to a loopback collector.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from agent import Agent
from tests.integration.cli_helpers import TEST_KEY, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, error, reply

TRACE_SERVER = Path(__file__).parents[1] / "fixtures" / "mcp_trace_server.py"
CONTENT = ("gen_ai.tool.call.arguments", "gen_ai.tool.call.result")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("The launch is on Tuesday.\n")
    return data


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider
    provider.shutdown()


def by_name(spans: Sequence[ReadableSpan]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for span in spans:
        named.setdefault(span.name, []).append(span)
    return named


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return {
        key: (list(value) if isinstance(value, tuple) else value)
        for key, value in (span.attributes or {}).items()
    }


def parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def two_tool_run() -> ScriptedOpenRouter:
    return ScriptedOpenRouter(
        reply(None, call("list_directory", {"path": "."}), call("read_file", {"path": "notes.txt"})),
        reply("The launch is on Tuesday."),
    )


@pytest.mark.anyio
async def test_a_two_tool_run_is_an_invoke_agent_span_with_chat_and_execute_tool_children(
    workdir: Path, tmp_path: Path, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with two_tool_run() as server:
        agent = Agent(
            model="test/model",
            servers=["fs"],
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
            tracer_provider=provider,
        )
        result = await agent.run("What do my notes say?")
        port = urlsplit(server.base_url).port
    assert result.stop_reason == "completed", result.error
    spans = by_name(exporter.get_finished_spans())
    assert sorted(spans) == [
        "chat test/model",
        "execute_tool list_directory",
        "execute_tool read_file",
        "invoke_agent",
    ]
    [run] = spans["invoke_agent"]
    chats = sorted(spans["chat test/model"], key=lambda span: span.start_time or 0)
    tools = spans["execute_tool list_directory"] + spans["execute_tool read_file"]
    assert len(chats) == 2
    assert run.parent is None and run.kind is SpanKind.INTERNAL
    assert all(
        span.context is not None and span.context.trace_id == run.context.trace_id for span in chats + tools
    )
    assert {parent_id(span) for span in chats + tools} == {run.context.span_id}
    assert [span.kind for span in chats] == [SpanKind.CLIENT, SpanKind.CLIENT]
    assert {span.kind for span in tools} == {SpanKind.INTERNAL}
    assert attributes(run) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openrouter",
        "gen_ai.system": "openrouter",
        "gen_ai.request.model": "test/model",
        "gen_ai.conversation.id": result.session_id,
        "gen_ai.response.model": "test/model",
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 10,
    }
    assert [attributes(span) for span in chats] == [
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openrouter",
            "gen_ai.system": "openrouter",
            "gen_ai.request.model": "test/model",
            "server.address": "127.0.0.1",
            "server.port": port,
            "gen_ai.response.model": "test/model",
            "gen_ai.usage.input_tokens": 10,
            "gen_ai.usage.output_tokens": 5,
            "gen_ai.response.finish_reasons": [reason],
        }
        for reason in ("tool_calls", "stop")
    ]
    ids = {record.tool: record.id for record in result.tool_calls}
    assert sorted(attributes(span).items() for span in tools) == sorted(
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.tool.call.id": ids[tool],
            "gen_ai.tool.type": "extension",
        }.items()
        for tool in ("list_directory", "read_file")
    )
    # the calls ran between the two model turns, and no span says anything of the content
    assert all(
        chats[0].end_time <= span.start_time and span.end_time <= chats[1].start_time for span in tools
    )  # type: ignore[operator]
    assert all(span.status.status_code is StatusCode.UNSET for span in [run, *chats, *tools])


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("options", "env", "captured"),
    [
        ({}, {}, False),
        ({"otel_content": True}, {}, True),
        ({}, {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}, True),
    ],
)
async def test_tool_arguments_and_results_are_in_the_spans_only_when_asked(
    workdir: Path,
    tmp_path: Path,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    options: dict[str, Any],
    env: dict[str, str],
    captured: bool,
) -> None:
    with ScriptedOpenRouter(
        reply(None, call("read_file", {"path": "notes.txt"})), reply("Tuesday.")
    ) as server:
        agent = Agent(
            model="test/model",
            servers=["fs"],
            env=agent_env(server.base_url, tmp_path, **env),
            cwd=workdir,
            tracer_provider=provider,
            **options,
        )
        await agent.run("When is the launch?")
    [tool] = by_name(exporter.get_finished_spans())["execute_tool read_file"]
    content = {key: value for key, value in attributes(tool).items() if key in CONTENT}
    if not captured:
        assert content == {}
    else:
        assert json.loads(content["gen_ai.tool.call.arguments"]) == {"path": "notes.txt"}
        assert content["gen_ai.tool.call.result"] == "The launch is on Tuesday.\n"


@pytest.mark.anyio
async def test_a_failing_tool_call_sets_error_type_and_the_run_still_completes(
    workdir: Path, tmp_path: Path, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with ScriptedOpenRouter(
        reply(None, call("read_file", {"path": "missing.txt"})), reply("No such file.")
    ) as server:
        agent = Agent(
            model="test/model",
            servers=["fs"],
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
            tracer_provider=provider,
        )
        result = await agent.run("Read missing.txt")
    assert result.stop_reason == "completed" and result.tool_calls[0].is_error
    spans = by_name(exporter.get_finished_spans())
    [tool] = spans["execute_tool read_file"]
    assert attributes(tool)["error.type"] == "tool_error"
    assert tool.status.status_code is StatusCode.ERROR
    [run] = spans["invoke_agent"]
    assert "error.type" not in attributes(run) and run.status.status_code is StatusCode.UNSET


@pytest.mark.anyio
async def test_a_failed_run_sets_error_type_on_its_chat_and_invoke_agent_spans(
    tmp_path: Path, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with ScriptedOpenRouter(error(401, "No auth credentials found")) as server:
        agent = Agent(
            model="test/model",
            no_servers=True,
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
            tracer_provider=provider,
        )
        result = await agent.run("hi")
    assert result.stop_reason == "error" and result.error is not None
    spans = by_name(exporter.get_finished_spans())
    [chat] = spans["chat test/model"]
    [run] = spans["invoke_agent"]
    for span in (chat, run):
        assert attributes(span)["error.type"] == result.error.type
        assert span.status.status_code is StatusCode.ERROR


@pytest.mark.anyio
async def test_the_mcp_server_receives_the_execute_tool_span_context_as_traceparent(
    tmp_path: Path, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    mcp = {"mcpServers": {"trace": {"command": sys.executable, "args": [str(TRACE_SERVER)]}}}
    with ScriptedOpenRouter(reply(None, call("traceparent")), reply("done")) as server:
        agent = Agent(
            model="test/model",
            mcp_config=mcp,
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
            tracer_provider=provider,
        )
        result = await agent.run("Which trace am I in?")
    [record] = result.tool_calls
    [tool] = by_name(exporter.get_finished_spans())["execute_tool traceparent"]
    context = tool.context
    assert context is not None
    assert record.output == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


@pytest.mark.anyio
async def test_a_run_inside_the_applications_span_is_its_child(
    tmp_path: Path, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    with ScriptedOpenRouter(reply("hello")) as server:
        agent = Agent(
            model="test/model",
            no_servers=True,
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
            tracer_provider=provider,
        )
        with provider.get_tracer("app").start_as_current_span("request") as app:
            await agent.run("hi")
    [run] = by_name(exporter.get_finished_spans())["invoke_agent"]
    assert parent_id(run) == app.get_span_context().span_id


@pytest.mark.anyio
async def test_no_span_carries_the_api_key_even_with_content(
    workdir: Path, tmp_path: Path, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    (workdir / "leak.txt").write_text(f"OPENROUTER_API_KEY={TEST_KEY}\n")
    with ScriptedOpenRouter(
        reply(None, call("read_file", {"path": "leak.txt"}), call("read_file", {"path": TEST_KEY})),
        reply("done"),
    ) as server:
        agent = Agent(
            model="test/model",
            servers=["fs"],
            env=agent_env(server.base_url, tmp_path),
            cwd=workdir,
            tracer_provider=provider,
            otel_content=True,
        )
        result = await agent.run("Show me leak.txt")
    assert any(TEST_KEY in record.output for record in result.tool_calls)  # the model saw it; spans do not
    spans = exporter.get_finished_spans()
    assert len(spans) == 5
    said = json.dumps(
        [
            [
                span.name,
                attributes(span),
                span.status.description,
                [(e.name, dict(e.attributes or {})) for e in span.events],
            ]
            for span in spans
        ]
    )
    assert "gen_ai.tool.call.result" in said
    assert TEST_KEY not in said


# -- the CLI: OTLP over HTTP to a collector ------------------------------------------------------


class _Collector(BaseHTTPRequestHandler):
    bodies: list[tuple[str, bytes]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append((self.path, self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_agent_run_otel_sends_the_runs_spans_to_the_otlp_endpoint_before_it_exits(
    workdir: Path, tmp_path: Path, collector: ThreadingHTTPServer
) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    endpoint = f"http://127.0.0.1:{collector.server_address[1]}"
    with two_tool_run() as server:
        done = run_agent_cli(
            "run",
            "What do my notes say?",
            "-s",
            "fs",
            "--otel",
            "-m",
            "test/model",
            env=agent_env(server.base_url, tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=endpoint),
            cwd=workdir,
            process=True,
        )
    assert done.code == 0, done.stderr
    assert done.stdout == "The launch is on Tuesday.\n"
    bodies: list[tuple[str, bytes]] = collector.bodies  # type: ignore[attr-defined]
    assert bodies and {path for path, _ in bodies} == {"/v1/traces"}
    sent = b"".join(body for _, body in bodies)
    for name in (
        b"invoke_agent",
        b"chat test/model",
        b"execute_tool list_directory",
        b"execute_tool read_file",
    ):
        assert name in sent
    assert TEST_KEY.encode() not in sent


def test_a_run_without_tracing_imports_nothing_of_opentelemetry(tmp_path: Path) -> None:
    script = (
        "import sys, agent\n"
        "result = agent.Agent(model='test/model', no_servers=True).run_sync('hi')\n"
        "assert result.output == 'hello', result.error\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    with ScriptedOpenRouter(reply("hello")) as server:
        done = subprocess.run(
            [sys.executable, "-c", script],
            env=agent_env(server.base_url, tmp_path, PYTHONPATH=str(Path(__file__).parents[2])),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
