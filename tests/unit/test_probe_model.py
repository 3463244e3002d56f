"""What a probe's verdicts establish, and how the first check gates the rest (scripted model)."""

from __future__ import annotations

import pytest

from agent.errors import AgentError, AuthenticationError, NoToolEndpointsError, ProviderUnavailableError
from agent.models.capabilities import ALL_TOOL_CHOICES, CapabilityFacts, ToolChoice
from agent.models.probe import CHECKS, CheckResult, ModelProbe, Verdict, probe_model
from agent.testing import ScriptedChatModel, reply

NAMES = [c.name for c in CHECKS]
TEXT_CALL = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'


def probe(*, refused: bool = False, default: Verdict = "pass", **verdicts: Verdict) -> ModelProbe:
    checks = [CheckResult(check=name, verdict=verdicts.get(name, default)) for name in NAMES]
    return ModelProbe(model="m/x", checks=checks, tools_refused=refused)


FACTS: list[tuple[str, ModelProbe, tuple[ToolChoice, ...] | None, CapabilityFacts]] = [
    (
        "everything passes",
        probe(),
        None,
        CapabilityFacts(native_tools=True, parallel_tool_calls=True, tool_choice=ALL_TOOL_CHOICES),
    ),
    (
        "the endpoint refused tools",
        probe(refused=True, single="fail", default="skip", text="pass"),
        None,
        CapabilityFacts(native_tools=False),
    ),
    (
        "native calls fail but the text protocol works",
        probe(default="fail", restraint="pass", text="pass"),
        None,
        CapabilityFacts(native_tools=False),
    ),
    (
        "no parallel calls, required not sent",
        probe(parallel="fail", required="skip"),
        ("auto",),
        CapabilityFacts(native_tools=True, parallel_tool_calls=False),
    ),
    (
        "required honoured beyond what the catalog said",
        probe(),
        ("auto",),
        CapabilityFacts(native_tools=True, parallel_tool_calls=True, tool_choice=("auto", "required")),
    ),
    (
        "required ignored",
        probe(required="fail"),
        ALL_TOOL_CHOICES,
        CapabilityFacts(native_tools=True, parallel_tool_calls=True, tool_choice=("auto", "none", "named")),
    ),
    (
        "streaming works though the plain single call failed",
        probe(single="fail", text="fail"),
        None,
        CapabilityFacts(native_tools=True, parallel_tool_calls=True, tool_choice=ALL_TOOL_CHOICES),
    ),
    ("nothing decided", probe(default="error"), None, CapabilityFacts()),
]


@pytest.mark.parametrize(
    ("model_probe", "before", "expected"), [f[1:] for f in FACTS], ids=[f[0] for f in FACTS]
)
def test_facts_record_only_what_the_verdicts_decided(
    model_probe: ModelProbe, before: tuple[ToolChoice, ...] | None, expected: CapabilityFacts
) -> None:
    assert model_probe.facts(before) == expected


def test_a_probe_sums_cost_and_time_and_counts_as_errored_only_without_verdicts() -> None:
    checks = [
        CheckResult(check="single", verdict="pass", latency_ms=10.0, cost=0.001),
        CheckResult(check="text", verdict="error", latency_ms=5.0, cost=None),
        CheckResult(check="stream", verdict="pass", latency_ms=1.0, cost=0.002),
    ]
    mixed = ModelProbe(model="m/x", checks=checks)
    assert (mixed.cost, mixed.latency_ms, mixed.errored, mixed.note()) == (
        pytest.approx(0.003),
        16.0,
        False,
        "agent probe: 2/2 checks passed",
    )
    assert probe(default="error", text="skip").errored
    assert probe(default="skip").cost is None


@pytest.mark.anyio
async def test_a_404_for_tools_skips_the_native_checks_and_still_tries_the_text_protocol() -> None:
    refusal = NoToolEndpointsError("no endpoint of scripted/model supports tool use (404): No endpoints")
    # Native checks run without the protocol switch: the 404 ends the first check at once.
    model = ScriptedChatModel([refusal, reply(TEXT_CALL)])
    result = await probe_model(model)
    model.assert_consumed()
    skipped = "not run: the endpoint takes no tools (404)"
    assert [(c.check, c.verdict, c.detail) for c in result.checks] == [
        ("single", "fail", "the endpoint takes no tools (404 no endpoints support tool use)"),
        *((name, "skip", skipped) for name in NAMES[1:-1]),
        ("text", "pass", 'get_weather({"city":"Paris"})'),
    ]
    assert result.tools_refused
    assert [bool(r.tools) for r in model.requests] == [True, False]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "exit_code"),
    [
        (ProviderUnavailableError("the provider is unavailable (503): down", status=503), 1),
        (AuthenticationError("the API key was refused (401): User not found.", status=401), 4),
    ],
)
async def test_an_error_in_the_first_check_skips_the_native_checks_and_the_model_counts_as_errored(
    error: AgentError, exit_code: int
) -> None:
    model = ScriptedChatModel([error, error])
    result = await probe_model(model)
    model.assert_consumed()
    assert [(c.check, c.verdict) for c in result.checks] == [
        ("single", "error"),
        *((name, "skip") for name in NAMES[1:-1]),
        ("text", "error"),
    ]
    assert result.checks[1].detail == "not run: the first check failed with an error"
    assert (result.errored, result.exit_code) == (True, exit_code)
