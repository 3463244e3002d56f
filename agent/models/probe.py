"""The probe battery: tool-calling checks run against one model through the runtime's own loop.

Each check is a short :func:`~agent.loop.run_agent` run with a local
:class:`~agent.static_tools.StaticToolset`, so it exercises the real request, parsing, validation and
tool-result path, and is judged by a pure function of the :class:`~agent.result.RunResult`
(:mod:`agent.models.judges`). The first check is a gate: when the endpoint refuses tools (404) or
fails, the other native checks are skipped and only the text-protocol check still runs.
Nothing here prints; :class:`ModelProbe` is what the CLI renders and stores.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel, PrivateAttr

from agent.errors import AgentError, ConfigError
from agent.loop import RunOptions, run_agent
from agent.models.capabilities import ALL_TOOL_CHOICES, CapabilityFacts, ToolChoice
from agent.models.judges import (
    BOOK_SCHEMA,
    CITY_SCHEMA,
    Judgement,
    Verdict,
    judge_parallel,
    judge_required,
    judge_restraint,
    judge_result,
    judge_single,
    judge_typed,
)
from agent.providers.base import ChatModel
from agent.result import RunResult
from agent.static_tools import StaticToolset

__all__ = ["CHECKS", "Check", "CheckResult", "ModelProbe", "Verdict", "probe_model", "select_checks"]

_SERVER = "probe"


class CheckResult(BaseModel):
    """The verdict of one check, a one-line detail, and what it took."""

    check: str
    verdict: Verdict
    detail: str = ""
    latency_ms: float = 0.0
    cost: float | None = None


class ModelProbe(BaseModel):
    """Every check's result for one model.

    Attributes:
        model: the model id probed.
        checks: one result per check of :data:`CHECKS`, in order.
        tools_refused: the endpoint answered 404 "no endpoints support tool use".
    """

    model: str
    checks: list[CheckResult]
    tools_refused: bool = False
    _exit_code: int = PrivateAttr(default=1)

    @property
    def errored(self) -> bool:
        """No check reached a verdict (every one errored or was skipped)."""
        return not any(c.verdict in ("pass", "fail") for c in self.checks)

    @property
    def exit_code(self) -> int:
        """The exit code of the first error met (for a probe where every model errored)."""
        return self._exit_code

    @property
    def cost(self) -> float | None:
        """USD spent on every check, or ``None`` when the endpoint reported no cost."""
        costs = [c.cost for c in self.checks if c.cost is not None]
        return sum(costs) if costs else None

    @property
    def latency_ms(self) -> float:
        """Time spent on every check."""
        return sum(c.latency_ms for c in self.checks)

    def result(self, check: str) -> CheckResult | None:
        """The result of ``check``, if it is in this probe."""
        return next((c for c in self.checks if c.check == check), None)

    def facts(self, tool_choice: Sequence[ToolChoice] | None = None) -> CapabilityFacts:
        """What the verdicts establish, for the probe store (only facts a verdict decided).

        Args:
            tool_choice: the ``tool_choice`` values known before probing (catalog); ``required``
                is added or removed by its check's verdict.
        """

        def verdict(check: str) -> Verdict | None:
            found = self.result(check)
            return found.verdict if found else None

        native: bool | None = None
        if self.tools_refused:
            native = False
        elif "pass" in (verdict("single"), verdict("stream")):
            native = True
        elif verdict("single") == "fail" and verdict("text") == "pass":
            native = False
        facts: dict[str, Any] = {"native_tools": native}
        if native is not False:
            parallel = verdict("parallel")
            if parallel in ("pass", "fail"):
                facts["parallel_tool_calls"] = parallel == "pass"
            required = verdict("required")
            if required in ("pass", "fail"):
                known = set(ALL_TOOL_CHOICES if tool_choice is None else tool_choice)
                known = known | {"required"} if required == "pass" else known - {"required"}
                facts["tool_choice"] = tuple(c for c in ALL_TOOL_CHOICES if c in known)
        return CapabilityFacts(**facts)

    def note(self) -> str:
        """A one-line summary for the probe store."""
        decided = [c for c in self.checks if c.verdict in ("pass", "fail")]
        passed = sum(c.verdict == "pass" for c in decided)
        return f"agent probe: {passed}/{len(decided)} checks passed"


@dataclass(frozen=True, slots=True)
class _Task:
    """One run of a check: the prompt, the tools, the options and the judge of the result."""

    prompt: str
    toolset: StaticToolset
    options: RunOptions
    judge: Callable[[RunResult], Judgement]


@dataclass(frozen=True, slots=True)
class Check:
    """One check of the battery.

    Attributes:
        name: a short id (table column, JSON key).
        title: what it checks, in a few words.
        native: it sends tools natively (skipped when the endpoint refuses tools).
        build: makes a fresh task (fresh random tokens) for one run.
    """

    name: str
    title: str
    native: bool
    build: Callable[[], _Task]


def _weather(city: str) -> str:
    return f"{city}: 18 °C, light rain, wind 12 km/h"


def _weather_tools() -> StaticToolset:
    return StaticToolset(_SERVER).add(
        "get_weather", _weather, description="The current weather in a city.", schema=CITY_SCHEMA
    )


def _book(**arguments: Any) -> str:
    return f"Booked: {arguments.get('guests')} guests at {arguments.get('time')}."


_SINGLE = "What is the weather in Paris right now? Use the get_weather tool."
# No switch to the text protocol: a native check must see what the model does on its own.
_OPTIONS = RunOptions(
    max_turns=1, tool_timeout=10.0, context_window=None, max_tool_output_chars=4000, protocol_switch=False
)


def _single(*, stream: bool = False, protocol: Literal["native", "text"] = "native") -> Callable[[], _Task]:
    def build() -> _Task:
        options = replace(_OPTIONS, stream=stream, protocol=protocol)
        return _Task(_SINGLE, _weather_tools(), options, lambda r: judge_single(r, protocol=protocol))

    return build


def _typed() -> _Task:
    tools = StaticToolset(_SERVER).add(
        "book_table", _book, description="Book a restaurant table.", schema=BOOK_SCHEMA
    )
    prompt = (
        "Book a table for 4 guests at 19:00. Pre-order these dishes: soup, salad. "
        "Contact: name Ada, phone 555-0100. Use the book_table tool."
    )
    return _Task(prompt, tools, _OPTIONS, judge_typed)


def _parallel() -> _Task:
    prompt = (
        "What is the weather in Paris and in Tokyo? Call get_weather for both cities at once, "
        "in a single reply."
    )
    return _Task(prompt, _weather_tools(), _OPTIONS, judge_parallel)


def _restraint() -> _Task:
    return _Task("What is 2 + 2? Answer with the number only.", _weather_tools(), _OPTIONS, judge_restraint)


def _required() -> _Task:
    options = replace(_OPTIONS, tool_choice="required")
    return _Task("Greet me in one short sentence.", _weather_tools(), options, judge_required)


def _result() -> _Task:
    token = f"probe-{secrets.token_hex(4)}"
    tools = StaticToolset(_SERVER).add(
        "get_secret_code", lambda: token, description="Returns today's secret code."
    )
    prompt = "Call get_secret_code and tell me the exact code it returns."
    return _Task(prompt, tools, replace(_OPTIONS, max_turns=3), lambda r: judge_result(r, token))


CHECKS: tuple[Check, ...] = (
    Check("single", "single call with correct arguments", True, _single()),
    Check("typed", "integer, enum, array and object arguments", True, _typed),
    Check("parallel", "two independent calls in one turn", True, _parallel),
    Check("restraint", "no call when none is needed", True, _restraint),
    Check("required", "tool_choice=required honoured", True, _required),
    Check("result", "the tool result used in the answer", True, _result),
    Check("stream", "tool calls while streaming", True, _single(stream=True)),
    Check("text", "the text protocol (tools in the prompt)", False, _single(protocol="text")),
)
"""The battery, in the order it runs; ``single`` is the gate for the other native checks."""


def select_checks(names: Sequence[str] | None, *, native_only: bool = False) -> tuple[Check, ...]:
    """The checks named (in battery order), or the whole battery (its native checks, if asked).

    Raises:
        ConfigError: a name is not a check of the battery.
    """
    if not names:
        return tuple(c for c in CHECKS if c.native or not native_only)
    known = {c.name for c in CHECKS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ConfigError(
            f"unknown check {unknown[0]!r}; expected some of: {', '.join(c.name for c in CHECKS)}",
            source="--checks",
        )
    return tuple(c for c in CHECKS if c.name in names)


async def _run_check(model: ChatModel, check: Check, seconds: float) -> tuple[CheckResult, RunResult]:
    task = check.build()
    options = replace(task.options, timeout=seconds)
    started = time.perf_counter()
    result = await run_agent(model, task.toolset, task.prompt, options)
    latency = (time.perf_counter() - started) * 1000
    verdict, detail = task.judge(result)
    return CheckResult(
        check=check.name, verdict=verdict, detail=detail, latency_ms=latency, cost=result.usage.cost
    ), result


async def probe_model(
    model: ChatModel,
    *,
    required_unsupported: str | None = None,
    check_timeout: float = 60.0,
    checks: Sequence[Check] = CHECKS,
    on_check: Callable[[CheckResult], None] | None = None,
) -> ModelProbe:
    """Run ``checks`` (default: every check of :data:`CHECKS`) against ``model``, one after another.

    Args:
        model: the chat model (no fallbacks, so the verdicts are about this model).
        required_unsupported: why ``tool_choice=required`` must not be sent (the catalog says
            so); the check is skipped with this reason.
        check_timeout: seconds each check may take before it counts as an error.
        checks: the checks to run, in order (see :func:`select_checks`).
        on_check: hears each check's result as soon as it is known (a live table fills in).
    """
    results: list[CheckResult] = []
    blocked: str | None = None
    refused = False
    exit_code: int | None = None

    def add(result: CheckResult) -> None:
        results.append(result)
        if on_check is not None:
            on_check(result)

    for check in checks:
        if check.native and blocked is not None:
            add(CheckResult(check=check.name, verdict="skip", detail=blocked))
            continue
        if check.name == "required" and required_unsupported is not None:
            add(CheckResult(check=check.name, verdict="skip", detail=required_unsupported))
            continue
        outcome, run = await _run_check(model, check, check_timeout)
        add(outcome)
        if exit_code is None and isinstance(run.exception, AgentError):
            exit_code = run.exception.exit_code
        if check.name == "single" and check.native:
            if run.error is not None and run.error.type == "NoToolEndpointsError":
                refused = True
                blocked = "not run: the endpoint takes no tools (404)"
            elif outcome.verdict == "error":
                blocked = "not run: the first check failed with an error"
    probe = ModelProbe(model=model.model_name, checks=results, tools_refused=refused)
    probe._exit_code = exit_code or 1
    return probe
