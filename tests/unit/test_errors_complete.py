"""Every error class is reachable through a real boundary and has the exit code errors.py documents."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel

from agent import errors
from agent.cli.common import internal_error
from agent.config.files import read_document
from agent.config.servers import StdioServerConfig
from agent.errors import AgentError
from agent.mcp.manager import McpManager
from agent.providers.http_errors import classify, connection_error
from agent.providers.response import ResponseBuilder
from agent.providers.sse import SSEDecoder


def _provider(status: int, message: str) -> AgentError:
    return classify(status, message, model="m", secret=None)


def _raised(action: Callable[[], object]) -> AgentError:
    try:
        action()
    except AgentError as exc:
        return exc
    raise AssertionError("expected an AgentError")


def _server_start() -> AgentError:
    import anyio

    async def start() -> AgentError:
        config = StdioServerConfig(command="/nonexistent/agent-test-command", startup_timeout=5)
        async with McpManager({"x": config}) as manager:
            [failed] = manager.failed
            assert failed.error is not None
            return failed.error

    return anyio.run(start)


def _schema_not_met() -> AgentError:
    from agent.result import RunResult
    from agent.structured import as_instance, schema_of

    class Answer(BaseModel):
        value: int

    result = RunResult(data={"value": "x"})
    as_instance(result, Answer)
    assert result.exception is not None and schema_of(Answer)["required"] == ["value"]
    return result.exception


def _replay_past_the_end() -> AgentError:
    import tempfile

    import anyio

    from agent.replay.replaying import Recording, ReplayTransport

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "empty.jsonl"
        path.write_text('{"type": "recording", "version": 1}\n')
        transport = ReplayTransport(Recording(path))
        request = httpx.Request("POST", "http://127.0.0.1:9/api/v1/chat/completions", json={"model": "m"})

        async def send() -> AgentError:
            try:
                await transport.handle_async_request(request)
            except AgentError as exc:
                return exc
            raise AssertionError("expected the replay to diverge")

        return anyio.run(send)


REACHED_BY: dict[type[AgentError], Callable[[], AgentError]] = {
    errors.AgentError: lambda: internal_error(KeyError("bug"), verbose=False),
    errors.ConfigError: lambda: _raised(lambda: read_document(Path("/nonexistent/agent.json"))),
    errors.AuthenticationError: lambda: _provider(401, "User not found."),
    errors.InsufficientCreditsError: lambda: _provider(402, "Insufficient credits"),
    errors.PermissionDeniedError: lambda: _provider(403, "flagged"),
    errors.ModelNotFoundError: lambda: _provider(404, "No endpoints found for m."),
    errors.NoToolEndpointsError: lambda: _provider(404, "No endpoints found that support tool use."),
    errors.RateLimitError: lambda: _provider(429, "Rate limit exceeded"),
    errors.ContextLengthError: lambda: _provider(
        400, "This endpoint's maximum context length is 8192 tokens"
    ),
    errors.BadRequestError: lambda: _provider(400, "Invalid request"),
    errors.ProviderUnavailableError: lambda: _provider(503, "No instances available"),
    errors.ProviderConnectionError: lambda: connection_error(
        httpx.ConnectError("refused"), url="http://127.0.0.1:9/v1", model="m", secret=None
    ),
    errors.BadResponseError: lambda: _raised(lambda: ResponseBuilder(model="m", secret=None).build()),
    errors.ResponseLimitError: lambda: _raised(lambda: SSEDecoder().feed(b"x" * (17 * 2**20))),
    errors.ServerStartError: _server_start,
    errors.ReplayDivergedError: lambda: _replay_past_the_end(),
    errors.OutputSchemaError: lambda: _schema_not_met(),
}
"""How each concrete class is reached; base classes (below) are reached through their children."""

BASES = {errors.ProviderError, errors.McpError}


def _all_classes() -> set[type[AgentError]]:
    found: set[type[AgentError]] = set()
    pending: list[type[AgentError]] = [AgentError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return {cls for cls in found if cls.__module__ == "agent.errors"}


def _documented_exit_codes() -> dict[str, int]:
    doc = errors.__doc__ or ""
    return {name: int(code) for name, code in re.findall(r"(\w+Error)\s+exit (\d)", doc)}


def test_every_error_class_is_either_reached_through_a_boundary_or_a_base_of_reached_ones() -> None:
    assert _all_classes() == set(REACHED_BY) | BASES
    for base in BASES:
        assert any(issubclass(cls, base) for cls in REACHED_BY if cls is not base)


@pytest.mark.parametrize("cls", sorted(REACHED_BY, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_each_error_class_is_reached_and_exits_with_its_documented_code(cls: type[AgentError]) -> None:
    error = REACHED_BY[cls]()
    assert type(error) is cls
    documented = _documented_exit_codes()
    expected = next((documented[k.__name__] for k in cls.__mro__ if k.__name__ in documented), 1)
    assert error.exit_code == expected
    assert "\n" not in str(error)


def test_the_docstring_tree_names_every_class() -> None:
    doc = errors.__doc__ or ""
    assert {cls.__name__ for cls in _all_classes()} <= set(re.findall(r"\b(\w+Error)\b", doc))
