"""The probe battery over real HTTP: the loopback server plays each kind of model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.models.probe import CHECKS, ModelProbe, probe_model
from agent.providers.factory import build_chat_model
from agent.providers.openai_compat import create_http_client
from tests.loopback import ScriptedOpenRouter
from tests.loopback.simulated import SIMULATED, simulated_catalog

pytestmark = pytest.mark.anyio

P, F, S = "pass", "fail", "skip"
VERDICTS = {
    #                  single typed parallel restraint required result stream text
    "sim/capable": (P, P, P, P, P, P, P, P),
    "sim/no-tools": (F, S, S, S, S, S, S, P),
    "sim/sequential": (P, P, F, P, P, P, P, P),
    "sim/wrong-types": (P, F, P, P, P, P, P, P),
    "sim/text-calls": (F, F, F, P, F, F, F, P),
}


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedOpenRouter]:
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=simulated_catalog()) as running:
        yield running
    running.assert_clean()


async def probe(
    server: ScriptedOpenRouter, model: str, required_unsupported: str | None = None
) -> ModelProbe:
    async with create_http_client(10) as http:
        chat = build_chat_model(
            client=http,
            provider_name="openrouter",
            base_url=server.base_url,
            api_key=None,
            model=model,
            max_retries=0,
        )
        return await probe_model(chat, required_unsupported=required_unsupported, check_timeout=10)


@pytest.mark.parametrize("model", list(VERDICTS))
async def test_each_kind_of_model_gets_the_verdicts_its_behaviour_deserves(
    server: ScriptedOpenRouter, model: str
) -> None:
    result = await probe(server, model)
    assert tuple(c.verdict for c in result.checks) == VERDICTS[model]
    assert [c.check for c in result.checks] == [c.name for c in CHECKS]
    assert result.tools_refused == (model == "sim/no-tools")
    for check in result.checks:
        # Only answered requests cost anything: skipped checks and a refused (404) request do not.
        refused = check.detail.startswith("the endpoint takes no tools (404")
        assert (check.cost is None) == (check.verdict == "skip" or refused)


async def test_every_native_check_sends_the_tools_and_the_stream_check_streams(
    server: ScriptedOpenRouter,
) -> None:
    before = len(server.chat_bodies)
    await probe(server, "sim/capable")
    bodies = server.chat_bodies[before:]
    # single, typed, parallel, restraint, required, result (2 turns), stream, text
    assert [("tools" in b, b.get("stream", False), b.get("tool_choice")) for b in bodies] == [
        (True, False, None),
        (True, False, None),
        (True, False, None),
        (True, False, None),
        (True, False, "required"),
        (True, False, None),
        (True, False, None),
        (True, True, None),
        (False, False, None),
    ]


async def test_required_is_skipped_with_the_reason_given_and_never_sent(server: ScriptedOpenRouter) -> None:
    before = len(server.chat_bodies)
    result = await probe(server, "sim/capable", required_unsupported="not sent: the catalog says no")
    required = result.result("required")
    assert required is not None and (required.verdict, required.detail) == (
        "skip",
        "not sent: the catalog says no",
    )
    assert not any("tool_choice" in body for body in server.chat_bodies[before:])
