"""The agent loop: ask the model, run the tools it calls, feed the results back, until it answers."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio

from agent.budget import Allowance, Price, Spending, price_of, worst_price
from agent.call_order import lanes
from agent.context import ContextGuard, OutputCap
from agent.errors import AgentError, ConfigError, ContextLengthError, OutputSchemaError
from agent.events import (
    CURRENT_CALL,
    CallScope,
    Event,
    EventSink,
    ModelResponded,
    Notice,
    ReasoningDelta,
    RunFinished,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    TurnStarted,
)
from agent.messages import (
    MediaPart,
    Message,
    ModelResponse,
    RequestSettings,
    SystemMessage,
    ToolCall,
    ToolMessage,
    ToolSpec,
    UserMessage,
)
from agent.naming import ToolNameMap, ToolRef
from agent.providers.base import ChatModel, DeltaCallback, DeltaKind
from agent.providers.text_protocol_model import TextProtocolModel
from agent.result import ErrorInfo, RunResult, ToolCallRecord
from agent.run_context import RunContext, ToolProtocol
from agent.schema_shapes import SCHEMA_PROFILES, SchemaProfile
from agent.tool_schema import ArgumentValidator, model_parameters
from agent.tools import ToolInfo, ToolOutcome, Toolset

if TYPE_CHECKING:
    from agent.approval import ToolGate
    from agent.structured import OutputSchema

__all__ = ["MAX_CALLS_PER_TURN", "RunOptions", "ToolProtocol", "run_agent"]

MAX_CALLS_PER_TURN = 64
"""Native tool calls run per turn; the rest get an error result saying so (a model emitting
thousands of calls would otherwise run them all)."""
_TOO_MANY = ToolOutcome(
    f"Not run: only the first {MAX_CALLS_PER_TURN} tool calls of a turn are run. "
    "Make this call again in your next turn if it is still needed.",
    True,
)


@dataclass(frozen=True, slots=True)
class RunOptions:
    """Limits and request options of one run.

    ``tool_choice="required"`` applies to the first turn only: after the tools have been used,
    the model must be free to answer. ``protocol="text"`` describes the tools in the system
    prompt and parses ``<tool_call>`` blocks from the answer (for models without native tool
    calling); a native run switches to it when the provider says the model has no tool
    endpoints, or when the model writes its calls as ``<tool_call>`` text, unless
    ``protocol_switch`` is off (``agent probe`` turns it off to see what the model does alone).

    With ``context_window`` known, requests are kept within ``context_window - reserve_tokens``
    by compacting old tool results; without it only ``max_tool_output_chars`` caps each result.

    ``image_input`` and ``audio_input`` say whether the model takes images and audio (its
    capabilities): tool results then bring theirs along; otherwise the model gets them described.

    ``tool_schema_profile`` is the dialect the model takes tool schemas in (its capabilities,
    see :mod:`agent.schema_shapes`); arguments are still checked against the servers' schemas.

    ``max_cost`` (USD) and ``max_total_tokens`` stop the run before a request that could cross
    them (:mod:`agent.budget`), on the worst case at ``prices`` (the models the run's requests
    may reach, and their prices) and the model's ``max_output_tokens``; a request that can
    afford only part of the model's output limit asks for that much (``max_tokens``). Without a
    price the cost is checked after each response. Responses without a reported cost get one
    estimated from ``prices``.

    ``session_id`` goes with every request (OpenRouter keeps the run on one provider, so its
    prompt cache stays warm); ``cache_prompt`` marks the system prompt and tools as cacheable.

    With ``output_schema`` the final answer must be JSON matching it (:mod:`agent.structured`):
    sent as ``response_format`` when ``schema_in_request`` (the model takes it), else described
    in the prompt; an answer that does not match is sent back once, then the run fails.

    Raises:
        ConfigError: a context option is out of range.
    """

    max_turns: int = 20
    max_cost: float | None = None
    max_total_tokens: int | None = None
    timeout: float | None = None
    tool_timeout: float | None = 60.0
    max_parallel_tools: int = 8
    stream: bool = False
    tool_choice: Literal["auto", "required", "none"] | None = None
    system: str | None = None
    context_window: int | None = None
    reserve_tokens: int = 2000
    max_tool_output_chars: int | None = 100_000
    protocol: ToolProtocol = "native"
    protocol_switch: bool = True
    image_input: bool = False
    audio_input: bool = False
    tool_schema_profile: SchemaProfile = "full"
    max_output_tokens: int | None = None
    prices: Mapping[str, Price | None] | None = None
    session_id: str | None = None
    cache_prompt: bool = False
    output_schema: OutputSchema | None = None
    schema_in_request: bool = True

    def __post_init__(self) -> None:
        if self.context_window is not None and self.context_window <= 0:
            raise ConfigError(
                f"must be a positive number of tokens, got {self.context_window}", field="context_window"
            )
        if self.tool_schema_profile not in SCHEMA_PROFILES:
            raise ConfigError(
                f"must be one of {', '.join(SCHEMA_PROFILES)}, got {self.tool_schema_profile!r}",
                field="tool_schema_profile",
            )
        if self.reserve_tokens < 0:
            raise ConfigError(f"must not be negative, got {self.reserve_tokens}", field="reserve_tokens")
        if self.max_tool_output_chars is not None and self.max_tool_output_chars <= 0:
            raise ConfigError(
                f"must be a positive number of characters, got {self.max_tool_output_chars}",
                field="max_tool_output_chars",
            )


class _ToolTable:
    """The model-facing view of a toolset, rebuilt only when the toolset's tool list changes.

    Specs carry the schemas shaped for ``profile``; validators use the servers' own schemas.
    """

    def __init__(self, profile: SchemaProfile = "full") -> None:
        self.profile = profile
        self._source: Sequence[ToolInfo] | None = None
        self.names = ToolNameMap(())
        self.specs: list[ToolSpec] = []
        self._spec_by_name: dict[str, ToolSpec] = {}
        self._by_ref: dict[ToolRef, ToolInfo] = {}
        self._validators: dict[ToolRef, ArgumentValidator] = {}

    def update(self, tools: Sequence[ToolInfo]) -> None:
        if tools is self._source:
            return
        self._source = tools
        self._by_ref = {ToolRef(t.server, t.name): t for t in tools}
        self.names = ToolNameMap(self._by_ref)
        self._validators = {}
        self.specs = [
            ToolSpec(
                name=self.names.name_for(t.server, t.name),
                description=t.description,
                parameters=model_parameters(t.input_schema, self.profile),
            )
            for t in tools
        ]
        self._spec_by_name = {spec.name: spec for spec in self.specs}

    def parameters(self, name: str) -> dict[str, Any]:
        return self._spec_by_name[name].parameters

    def serial_key(self, name: str) -> str | None:
        """What a call of tool ``name`` is serialised on (:mod:`agent.call_order`): its server.

        None when the call may overlap anything: the tool is read-only, or unknown (answered
        without running). Tools of toolsets without servers carry the name the toolset gives
        them all, so those are serialised per toolset.
        """
        ref = self.names.resolve(name)
        if ref is None or self._by_ref[ref].read_only:
            return None
        return ref.server

    def info(self, ref: ToolRef) -> ToolInfo:
        return self._by_ref[ref]

    def validator(self, ref: ToolRef) -> ArgumentValidator:
        validator = self._validators.get(ref)
        if validator is None:
            validator = self._validators[ref] = ArgumentValidator(self._by_ref[ref].input_schema)
        return validator


_TABLES: dict[tuple[int, SchemaProfile], tuple[Sequence[ToolInfo], _ToolTable]] = {}
"""Tool tables by the identity of the tool list they were built from and the schema profile:
concurrent and later runs over an unchanged toolset share one (toolsets return the same list
object until tools change), so schemas are shaped once per tool list and profile, not per turn."""
_MAX_TABLES = 16


def _table_for(tools: Sequence[ToolInfo], profile: SchemaProfile = "full") -> _ToolTable:
    key = (id(tools), profile)
    known = _TABLES.get(key)
    if known is not None and known[0] is tools:
        return known[1]
    table = _ToolTable(profile)
    table.update(tools)
    if len(_TABLES) >= _MAX_TABLES:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = (tools, table)
    return table


class _Run:
    """State of one run; :func:`run_agent` is the public entry point."""

    def __init__(
        self,
        model: ChatModel,
        toolset: Toolset,
        options: RunOptions,
        on_event: EventSink | None,
        gate: ToolGate | None = None,
    ) -> None:
        # The text protocol is a wrapper: the loop itself only ever sees native tool calls.
        self.model = TextProtocolModel(model)
        self.toolset = toolset
        self.gate = gate if gate is not None and not gate.open else None
        self.options = options
        self.on_event = on_event
        self.wants_progress = getattr(on_event, "wants_progress", True)
        self.run = RunContext(
            on_event=on_event, protocol=options.protocol, protocol_switch=options.protocol_switch
        )
        self.table = _table_for(toolset.tools(), options.tool_schema_profile)
        self.limiter = anyio.CapacityLimiter(max(1, options.max_parallel_tools))
        self.context = ContextGuard(
            options.context_window, options.reserve_tokens, options.max_tool_output_chars
        )
        self.result = RunResult(
            model=model.model_name, models_tried=[model.model_name], tool_protocol=options.protocol
        )
        self.spending = Spending(max_cost=options.max_cost, max_tokens=options.max_total_tokens)
        self.prices: Mapping[str, Price | None] = options.prices or {}
        self.worst_price = worst_price(self.prices)
        self.price_noted = False
        schema = options.output_schema
        self.response_format = schema.response_format() if schema and options.schema_in_request else None
        self.schema_retries = 1

    def finish(self, started: float) -> None:
        """Fill in what is known only at the end (then :meth:`report` it)."""
        if self.run.models_tried:
            self.result.models_tried = list(self.run.models_tried)
        self.result.usage = self.spending.total
        self.result.usage_by_model = dict(self.spending.by_model)
        self.result.tool_protocol = self.run.protocol
        self.result.duration_ms = (time.perf_counter() - started) * 1000

    def report(self) -> None:
        """Tell the listener the run is over, with its result."""
        if self.on_event is not None:
            self.emit(RunFinished(result=self.result))

    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _on_delta(self, kind: DeltaKind, text: str) -> None:
        self.emit(TextDelta(text=text) if kind == "text" else ReasoningDelta(text=text))

    async def turns(self, history: list[Message]) -> None:
        options = self.options
        for turn in range(1, options.max_turns + 1):
            self.table = _table_for(self.toolset.tools(), options.tool_schema_profile)
            tool_choice = options.tool_choice
            if tool_choice == "required" and turn > 1:
                tool_choice = "auto"
            allowance = self.allow(history, turn) if self.spending.limited else None
            if allowance is not None and allowance.stop:
                return
            settings = RequestSettings(
                stream=options.stream,
                tool_choice=tool_choice if self.table.specs else None,
                max_tokens=allowance.max_output if allowance is not None else None,
                session_id=options.session_id,
                cache_prompt=options.cache_prompt,
                response_format=self.response_format,
            )
            if self.on_event is not None:  # events of every turn: built only when someone listens
                self.emit(TurnStarted(turn=turn))
            started = time.perf_counter()
            on_delta = self._on_delta if options.stream and self.on_event is not None else None
            response = await self.request(history, settings, on_delta)
            message, problems = response.message, response.feedback
            self.result.turns = turn
            if response.id:
                self.result.generation_ids.append(response.id)
            answered = response.model or self.model.model_name
            usage = self.spending.add(answered, response.usage, price_of(self.prices, answered))
            self.result.usage = self.spending.total
            if response.model:
                self.result.model = response.model
            history.append(message)
            if self.on_event is not None:
                self.emit(
                    ModelResponded(
                        turn=turn,
                        model=response.model or self.model.model_name,
                        content=message.content,
                        tool_calls=len(message.tool_calls),
                        finish_reason=response.finish_reason,
                        usage=usage,
                        duration_ms=(time.perf_counter() - started) * 1000,
                    )
                )
            if message.content:
                self.result.output = message.content
            if allowance is not None and allowance.limit and response.finish_reason == "length":
                self.stop(
                    allowance.limit, f"the answer was cut off at the {allowance.max_output:,} tokens left"
                )
                return
            if not message.tool_calls and not problems:
                if response.finish_reason == "length":
                    self.emit(Notice(message="the answer was cut off at the model's output token limit"))
                if options.output_schema is not None and not self.structured(history, message.content):
                    continue  # asked again
                self.result.stop_reason = "completed"
                return
            if self.over_budget():
                return
            if message.tool_calls:
                history.extend(await self.run_calls(message.tool_calls))
            if problems:
                history.append(UserMessage(content="\n".join(problems)))
        self.result.stop_reason = "max_turns"
        self.emit(Notice(message=f"stopped after {options.max_turns} turns (--max-turns)"))

    def structured(self, history: list[Message], content: str | None) -> bool:
        """Whether the answer matches the output schema (then it is the result's ``data``).

        A first wrong answer is sent back with what is wrong (False: the run goes on); a second
        ends the run with :class:`~agent.errors.OutputSchemaError`.
        """
        from agent.structured import retry_instruction

        assert self.options.output_schema is not None
        value, problem = self.options.output_schema.check(content or "")
        if problem is None:
            self.result.data = value
            return True
        if self.schema_retries > 0:
            self.schema_retries -= 1
            self.emit(Notice(level="info", message=f"{problem}; asking the model again (--schema)"))
            history.append(UserMessage(content=retry_instruction(problem)))
            return False
        raise OutputSchemaError(f"{problem}, also when asked again (--schema)")

    def over_budget(self) -> bool:
        """Whether the run reached ``max_cost`` or ``max_total_tokens``; then it stops before more work."""
        limit = self.spending.crossed()
        if limit is None:
            return False
        total, options = self.spending.total, self.options
        if limit == "max_cost":
            self.stop(
                limit, f"stopped at ${total.cost or 0:.4f}: the budget of ${options.max_cost:g} is spent"
            )
        else:
            used, cap = total.total_tokens, options.max_total_tokens
            self.stop(limit, f"stopped at {used:,} tokens: the limit of {cap:,} is used up")
        return True

    def allow(self, history: list[Message], turn: int) -> Allowance:
        """What the next request may ask for under the run's limits; a stop is recorded and said."""
        context = self.context
        notice = context.fit(history, self.table.specs)
        if notice is not None:
            self.emit(Notice(message=notice))
        prompt = context.estimate
        ceilings = [self.options.max_output_tokens, context.window - prompt if context.window else None]
        known = [n for n in ceilings if n is not None and n > 0]
        price = self.worst_price
        if price is None and self.options.max_cost is not None and not self.price_noted:
            self.price_noted = True
            unknown = [m for m, p in self.prices.items() if p is None] or [self.model.model_name]
            self.emit(
                Notice(
                    message=f"the price of {', '.join(unknown)} is unknown: --max-cost is checked after "
                    "each response, so the run may go over it by one request"
                )
            )
        allowance = self.spending.allowance(prompt, price, min(known) if known else None)
        if allowance.stop and allowance.limit is not None:
            self.stop(allowance.limit, f"stopped before turn {turn}: {allowance.reason}")
        return allowance

    def stop(self, limit: Literal["max_cost", "max_tokens"], message: str) -> None:
        """End the run at ``limit``, saying why (and naming its flag)."""
        self.result.stop_reason = limit
        flag = "--max-cost" if limit == "max_cost" else "--max-tokens"
        self.emit(Notice(message=f"{message} ({flag})"))

    async def request(
        self,
        history: list[Message],
        settings: RequestSettings,
        on_delta: DeltaCallback | None,
    ) -> ModelResponse:
        """Send one request that fits the window; a "too long" answer gets one compacted retry."""
        specs = self.table.specs
        notice = self.context.fit(history, specs)
        if notice is not None:
            self.emit(Notice(message=notice))
        try:
            response = await self.model.complete(history, specs, settings, on_delta, run=self.run)
        except ContextLengthError as exc:
            self.emit(Notice(message=self.context.shrink(history, specs, exc)))
            try:
                response = await self.model.complete(history, specs, settings, on_delta, run=self.run)
            except ContextLengthError as again:
                raise self.context.still_too_long(again) from again
        self.context.observe(response.usage)
        return response

    async def run_calls(self, calls: Sequence[ToolCall]) -> list[ToolMessage]:
        """Run one turn's calls concurrently (bounded); results come back in call order.

        Calls to one server that are not read-only run one after another, in call order
        (:mod:`agent.call_order`); a single call runs as it is, with no task group.
        """
        slots: list[tuple[ToolMessage, ToolCallRecord] | None] = [None] * len(calls)
        cap = self.context.output_cap(len(calls))

        async def one(index: int, call: ToolCall) -> None:
            if index >= MAX_CALLS_PER_TURN:  # answered (every call id needs a result), not run
                slots[index] = await self.run_call(call, cap, refused=_TOO_MANY)
                return
            async with self.limiter:
                slots[index] = await self.run_call(call, cap)

        async def in_order(lane: list[int]) -> None:
            for index in lane:
                await one(index, calls[index])

        try:
            if len(calls) == 1:
                await one(0, calls[0])
            else:
                table = self.table
                keys = [
                    table.serial_key(call.name) if index < MAX_CALLS_PER_TURN else None
                    for index, call in enumerate(calls)
                ]
                async with anyio.create_task_group() as tg:
                    for lane in lanes(keys):
                        tg.start_soon(in_order, lane)
        finally:
            self.result.tool_calls.extend(slot[1] for slot in slots if slot is not None)
        return [slot[0] for slot in slots if slot is not None]

    async def run_call(
        self, call: ToolCall, cap: OutputCap, *, refused: ToolOutcome | None = None
    ) -> tuple[ToolMessage, ToolCallRecord]:
        """Run one call; the record and the message both carry the (capped) text the model sees."""
        ref = self.table.names.resolve(call.name)
        arguments: Any = call.arguments
        started = time.perf_counter()
        outcome: ToolOutcome | None = refused
        if outcome is not None:
            pass
        elif ref is None:
            available = ", ".join(self.table.names.names()) or "(none)"
            outcome = ToolOutcome(f"Unknown tool '{call.name}'. Available tools: {available}.", True)
        else:
            try:
                arguments = call.parsed_arguments()
            except ValueError as exc:
                outcome = ToolOutcome(
                    f"Invalid arguments for tool '{call.name}': {exc}. "
                    "Send the arguments as one JSON object matching the tool's schema.",
                    True,
                )
            else:
                problem = self.table.validator(ref).problem(arguments)
                if problem is not None:
                    outcome = ToolOutcome(
                        f"Invalid arguments for tool '{call.name}': {problem}. "
                        f"The schema is: {json.dumps(self.table.parameters(call.name))}",
                        True,
                    )
        if outcome is None and ref is not None and self.gate is not None:  # policy and approval
            outcome = await self.gate.check(
                self.table.info(ref), call.name, arguments, call.id, self.on_event
            )
            started = time.perf_counter()  # the time taken to approve is not the call's
        server = ref.server if ref else ""
        tool = ref.tool if ref else call.name
        if self.on_event is not None:
            self.emit(ToolCallStarted(id=call.id, server=server, tool=tool, arguments=arguments))
        if outcome is None and ref is not None:
            outcome = await self._invoke(ref, call.name, arguments, call.id)
        assert outcome is not None
        media = self._takes(outcome.media) if outcome.media else ()
        if media:  # the cap weighs the text and the media as one result
            text, media = cap.apply_with_media(outcome.text, media)
        else:
            text = cap.apply(outcome.text)
        record = ToolCallRecord(
            id=call.id,
            server=server,
            tool=tool,
            arguments=arguments,
            output=text,
            is_error=outcome.is_error,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        if self.on_event is not None:
            self.emit(ToolCallFinished(call=record))
        if media:
            message = ToolMessage(
                tool_call_id=call.id, name=call.name, content=text, is_error=outcome.is_error, media=media
            )
        else:  # the common case builds the message exactly as before media existed
            message = ToolMessage(
                tool_call_id=call.id, name=call.name, content=text, is_error=outcome.is_error
            )
        return message, record

    def _takes(self, media: tuple[MediaPart, ...]) -> tuple[MediaPart, ...]:
        """The images and audio clips the model takes as input; the result's text describes the rest."""
        options = self.options
        return tuple(
            part for part in media if (options.image_input if part.type == "image" else options.audio_input)
        )

    async def _invoke(self, ref: ToolRef, name: str, arguments: dict[str, Any], call_id: str) -> ToolOutcome:
        # What the server reports or asks during the call is put down to it, and to this run.
        token = CURRENT_CALL.set(CallScope(call_id, self.on_event, self.spending, self.wants_progress))
        try:
            return await self._invoke_timed(ref, name, arguments)
        finally:
            CURRENT_CALL.reset(token)

    async def _invoke_timed(self, ref: ToolRef, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        timeout = self.options.tool_timeout
        with anyio.move_on_after(timeout) as scope:
            try:
                return await self.toolset.call(ref.server, ref.tool, arguments)
            except AgentError as exc:
                return ToolOutcome(f"Tool '{name}' failed: {exc}", True)
            except Exception as exc:  # a toolset that broke its contract must not end the run
                return ToolOutcome(f"Tool '{name}' failed: {type(exc).__name__}: {exc}", True)
        assert scope.cancelled_caught
        return ToolOutcome(f"Tool '{name}' timed out after {timeout:g} s and was cancelled.", True)


async def run_agent(
    model: ChatModel,
    toolset: Toolset,
    prompt: str,
    options: RunOptions | None = None,
    *,
    on_event: EventSink | None = None,
    history: list[Message] | None = None,
    gate: ToolGate | None = None,
    settle: Callable[[RunResult], Awaitable[None]] | None = None,
) -> RunResult:
    """Run the loop for ``prompt`` until the model answers or a limit stops it.

    Provider and configuration failures do not raise: they end the run with
    ``stop_reason="error"`` and ``result.error`` set (``result.exception`` keeps the error for
    exit codes). ``history``, when given, is extended in place with every message of the run.
    ``gate``, when given, decides each call before it runs (allow/deny rules, approval): a
    refused call gets an error result saying why, and the run goes on. ``settle``, when given,
    completes the result (an error's details, say) before ``run_finished`` reports it.
    """
    options = options or RunOptions()
    run = _Run(model, toolset, options, on_event, gate)
    messages: list[Message] = history if history is not None else []
    if not messages and options.system:
        messages.append(SystemMessage(content=options.system))
    if options.output_schema is not None and not options.schema_in_request:
        from agent.structured import schema_instruction

        prompt = f"{prompt}\n\n{schema_instruction(options.output_schema)}"
    messages.append(UserMessage(content=prompt))
    started = time.perf_counter()
    if on_event is not None:
        run.emit(
            RunStarted(model=model.model_name, tools=len(run.table.specs), tool_protocol=options.protocol)
        )
    if run.context.reserve_notice is not None:
        run.emit(Notice(level="info", message=run.context.reserve_notice))
    try:
        with anyio.move_on_after(options.timeout) as scope:
            await run.turns(messages)
        if scope.cancelled_caught:
            run.result.stop_reason = "timeout"
            run.emit(Notice(message=f"stopped after the run timeout of {options.timeout:g} s (--timeout)"))
    except AgentError as exc:
        run.result.fail(exc)
    except anyio.get_cancelled_exc_class():
        # Cancelled from outside (Ctrl-C): report what was done so far, then let it propagate.
        run.result.stop_reason = "error"
        run.result.error = ErrorInfo(type="Interrupted", message="interrupted by the user")
        run.finish(started)
        run.report()
        raise
    run.finish(started)
    if settle is not None:
        await settle(run.result)
    run.report()
    return run.result
