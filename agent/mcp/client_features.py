"""What the client side of an MCP connection offers servers: roots, sampling, elicitation, logs, progress.

:class:`ClientFeatures` is what an agent offers every server: the directories it may work in
(``roots/list``), a model to sample (``sampling/createMessage``, with tools), a person or program
to ask (``elicitation/create``, form and URL mode), and the log level it wants messages at. A
capability is advertised only when it is offered, so a manager given no features connects as a
plain client. :class:`ClientSide` turns them into the SDK ``Client``'s callbacks for one server
and reports what happens as events.

Events go to the run whose tool call the server was serving, when that is known: on 2026-07-28
connections the requests arrive inside the call (multi-round-trip requests), so the call's
:data:`~agent.events.CURRENT_CALL` says; on older ones they arrive beside it, and are put down to
the call when exactly one is in flight on the connection. Otherwise they go to the manager's sink.

Sampling and elicitation are decided by the handlers of :class:`ClientFeatures`; a handler
refuses with a reason by raising :class:`Refused`. Pings need nothing here: the SDK answers them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

from agent.errors import AgentError
from agent.events import (
    CURRENT_CALL,
    LOG_LEVELS,
    CallScope,
    ElicitationAnswer,
    ElicitationAnswered,
    ElicitationRequest,
    ElicitationRequested,
    Event,
    EventSink,
    LogLevel,
    SamplingFinished,
    SamplingRequest,
    SamplingRequested,
    ServerLog,
    ToolProgress,
)
from agent.mcp.elicitation import complete_answer, form_fields
from agent.messages import ModelResponse, RequestSettings, ToolSpec
from agent.text import one_line

if TYPE_CHECKING:
    import mcp_types as types
    from mcp.client.context import ClientRequestContext
    from mcp.shared.dispatcher import ProgressFnT

__all__ = ["ClientFeatures", "ClientSide", "Elicitor", "Refused", "Sampler"]

Sampler = Callable[[SamplingRequest, Sequence[ToolSpec], RequestSettings], Awaitable[ModelResponse]]
"""Answers a sampling request with one completion (``tools`` and ``settings`` as the request asks),
or raises :class:`Refused`."""
Elicitor = Callable[[ElicitationRequest], Awaitable[ElicitationAnswer]]
"""Answers an elicitation request, or raises :class:`Refused` (the request is then declined)."""

_USER_REJECTED = -1  # the spec's example code for "User rejected sampling request"
_MAX_LOG_CHARS = 2_000
_MAX_PROGRESS_MESSAGE = 500
_ANSWER_LIMIT = 600.0
"""Seconds an elicitation waits for its answer at most (a handshake-era server's request outlives
the call that caused it when the server does not cancel it)."""


class Refused(Exception):
    """Raised by a sampling or elicitation handler to say no, with the reason shown to the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ClientFeatures:
    """What an agent offers its MCP servers (each is advertised only when given).

    Attributes:
        roots: directories the servers may work in, answered to ``roots/list`` as ``file://`` URIs.
        sampler: answers ``sampling/createMessage`` (sampling with tools is advertised too).
        elicitor: answers ``elicitation/create`` (form and URL mode).
        log_level: the least severe server log message reported (as ``ServerLog`` events);
            None: none are asked for.
    """

    roots: tuple[Path, ...] = ()
    sampler: Sampler | None = None
    elicitor: Elicitor | None = None
    log_level: LogLevel | None = None


@dataclass
class ClientSide:
    """The client callbacks of one server's connection, and the events they report.

    Args:
        server: the server's configured name.
        features: what is offered; None offers nothing.
        emit: where events go when no tool call of a run can be named (the manager's sink).
    """

    server: str
    features: ClientFeatures | None = None
    emit: EventSink | None = None
    _in_flight: dict[int, CallScope] = field(default_factory=dict)

    def client_kwargs(self) -> dict[str, Any]:
        """The SDK ``Client`` keyword arguments for the features offered."""
        features = self.features
        if features is None:
            return {}
        kwargs: dict[str, Any] = {}
        if features.roots:
            kwargs["list_roots_callback"] = self._list_roots
        if features.sampler is not None:
            import mcp_types as types

            kwargs["sampling_callback"] = self._sample
            kwargs["sampling_capabilities"] = types.SamplingCapability(tools=types.SamplingToolsCapability())
        if features.elicitor is not None:
            kwargs["elicitation_callback"] = self._elicit
        if features.log_level is not None:
            kwargs["logging_callback"] = self._log
            kwargs["log_level"] = features.log_level
        return kwargs

    # -- tool calls: progress, and which run a server's request belongs to ------------------

    @contextlib.contextmanager
    def calling(self, scope: CallScope | None) -> Iterator[None]:
        """Count a call of ``scope`` as in flight on this connection while the block runs."""
        if scope is None:
            yield
            return
        key = id(scope)
        self._in_flight[key] = scope
        try:
            yield
        finally:
            self._in_flight.pop(key, None)

    def progress(self, tool: str, scope: CallScope) -> ProgressFnT:
        """A progress callback reporting ``ToolProgress`` of ``tool`` to the run of ``scope``."""
        server = self.server
        emit = scope.emit
        assert emit is not None

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            if message is not None:
                message = message[:_MAX_PROGRESS_MESSAGE]
            emit(
                ToolProgress(
                    server=server,
                    tool=tool,
                    call_id=scope.call_id,
                    progress=progress,
                    total=total,
                    message=message,
                )
            )

        return on_progress

    def _scope(self) -> CallScope | None:
        """The call a server's request belongs to, if known."""
        scope = CURRENT_CALL.get()
        if scope is None and len(self._in_flight) == 1:
            scope = next(iter(self._in_flight.values()))
        return scope

    def _route(self) -> tuple[str | None, EventSink | None]:
        """The call a server's request belongs to (if known) and where its events go."""
        scope = self._scope()
        if scope is not None:
            return scope.call_id, scope.emit if scope.emit is not None else self.emit
        return None, self.emit

    @staticmethod
    def _send(sink: EventSink | None, event: Event) -> None:
        if sink is not None:
            sink(event)

    # -- the SDK callbacks -----------------------------------------------------------------

    async def _list_roots(self, context: ClientRequestContext) -> types.ListRootsResult:
        import mcp_types as types

        assert self.features is not None
        roots = [types.Root(uri=path.as_uri(), name=path.name or str(path)) for path in self.features.roots]
        return types.ListRootsResult(roots=roots)

    async def _log(self, params: types.LoggingMessageNotificationParams) -> None:
        assert self.features is not None and self.features.log_level is not None
        level = params.level if params.level in LOG_LEVELS else "info"
        if LOG_LEVELS.index(level) < LOG_LEVELS.index(self.features.log_level):
            return
        data = params.data
        text = data if isinstance(data, str) else json.dumps(data, default=str, ensure_ascii=False)
        _, sink = self._route()
        logger = params.logger[:200] if isinstance(params.logger, str) else None
        self._send(
            sink, ServerLog(server=self.server, level=level, logger=logger, message=text[:_MAX_LOG_CHARS])
        )

    async def _sample(
        self, context: ClientRequestContext, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.CreateMessageResultWithTools | types.ErrorData:
        import mcp_types as types

        from agent.mcp.sampling import sampling_call, sampling_result

        assert self.features is not None and self.features.sampler is not None
        call_id, sink = self._route()
        call = sampling_call(self.server, call_id, params)
        self._send(sink, SamplingRequested(request=call.request))

        def finished(
            *, approved: bool, error: str | None = None, response: ModelResponse | None = None
        ) -> None:
            self._send(
                sink,
                SamplingFinished(
                    server=self.server,
                    call_id=call_id,
                    approved=approved,
                    model=response.model if response is not None else None,
                    usage=response.usage if response is not None else None,
                    error=error,
                ),
            )

        # The sampler sees the call it answers for (and so its run's spending) as the current one.
        scope = self._scope()
        token = CURRENT_CALL.set(scope) if scope is not None and CURRENT_CALL.get() is None else None
        try:
            response = await self.features.sampler(call.request, call.tools, call.settings)
        except Refused as exc:
            finished(approved=False, error=exc.reason)
            return types.ErrorData(code=_USER_REJECTED, message=f"Sampling request refused: {exc.reason}")
        except Exception as exc:  # the model failed: the server gets an error, the run goes on
            text = str(exc) if isinstance(exc, AgentError) else f"{type(exc).__name__}: {exc}"
            finished(approved=True, error=one_line(text, 300))
            return types.ErrorData(code=types.INTERNAL_ERROR, message="The model request failed")
        finally:
            if token is not None:
                CURRENT_CALL.reset(token)
        finished(approved=True, response=response)
        return sampling_result(call, response, response.model or "unknown")

    async def _elicit(
        self, context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult | types.ErrorData:
        import mcp_types as types

        assert self.features is not None and self.features.elicitor is not None
        call_id, sink = self._route()
        if isinstance(params, types.ElicitRequestURLParams):
            request = ElicitationRequest(
                server=self.server, call_id=call_id, mode="url", message=params.message, url=params.url
            )
        else:
            request = ElicitationRequest(
                server=self.server,
                call_id=call_id,
                mode="form",
                message=params.message,
                fields=form_fields(params.requested_schema),
            )
        reason: str | None = None
        if request.mode == "url" and urlsplit(request.url or "").scheme not in ("http", "https"):
            reason = "the URL is not an http(s) URL"
            request.respond(ElicitationAnswer.decline())
        self._send(sink, ElicitationRequested(request=request))
        if not request.answered:
            reason = await self._answer(self.features.elicitor, request)
        answer = complete_answer(request.fields, await request.answer())
        self._send(
            sink,
            ElicitationAnswered(server=self.server, call_id=call_id, action=answer.action, reason=reason),
        )
        content = answer.content if answer.action == "accept" and request.mode == "form" else None
        return types.ElicitResult(action=answer.action, content=content)

    @staticmethod
    async def _answer(elicitor: Elicitor, request: ElicitationRequest) -> str | None:
        """Get ``request`` answered by ``elicitor`` or through its event, whichever is first.

        Returns:
            Why the request was declined for the user, when the handler refused it.
        """
        reason: str | None = None

        async def ask() -> None:
            nonlocal reason
            try:
                answer = await elicitor(request)
            except Refused as exc:
                reason = exc.reason
                answer = ElicitationAnswer.decline()
            except Exception as exc:  # a broken handler must not break the connection
                reason = f"the handler failed: {type(exc).__name__}: {one_line(str(exc), 200)}"
                answer = ElicitationAnswer.cancel()
            request.respond(answer)

        with anyio.move_on_after(_ANSWER_LIMIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(ask)
                await request.answer()
                tg.cancel_scope.cancel()
        if request.respond(ElicitationAnswer.cancel()):
            reason = f"no answer within {_ANSWER_LIMIT:g} s"
        return reason
