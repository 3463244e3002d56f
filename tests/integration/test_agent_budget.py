"""Cost and limits through the Python API: ``Agent(max_cost=...)``, a run's own ``max_total_tokens``."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent import Agent
from agent.events import Event, Notice
from tests.integration.cli_helpers import agent_env
from tests.integration.test_cli_budget import CATALOG, charged, keeps_calling
from tests.loopback import ScriptedOpenRouter, key_info

pytestmark = pytest.mark.anyio


async def test_an_agent_with_max_cost_stops_a_run_before_it_could_cross_it(tmp_path: Path) -> None:
    events: list[Event] = []
    key = key_info(limit=5.0, limit_remaining=0.01)
    with ScriptedOpenRouter(behaviours={None: keeps_calling}, catalog=CATALOG, key=key) as server:
        async with Agent(
            model="test/model",
            servers=["calc"],
            max_cost=0.02,
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
            on_event=events.append,
        ) as agent:
            result = await agent.run("go")
            tokens = await agent.run("go", max_cost=None, max_total_tokens=1500)
    assert result.stop_reason == "max_cost"
    spent = sum(charged(body).cost or 0.0 for body in server.chat_bodies[: result.turns])
    assert result.usage.cost == pytest.approx(spent)
    assert spent <= 0.02
    assert list(result.usage_by_model) == ["test/model"]
    said = [e.message for e in events if isinstance(e, Notice)]
    assert said[0] == (
        "the API key has $0.01 of credit left, less than the --max-cost of $0.02: "
        "the run may stop early with 402 (insufficient credits)"
    )
    assert any(m.startswith("stopped before turn ") and m.endswith("(--max-cost)") for m in said)
    assert tokens.stop_reason == "max_tokens"
    assert tokens.usage.total_tokens <= 1500
