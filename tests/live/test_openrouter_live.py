"""Against the real OpenRouter: run only with AGENT_LIVE_OPENROUTER_KEY set (never in CI).

AGENT_LIVE_OPENROUTER_KEY=sk-or-... .venv/bin/pytest -m live tests/live
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.cli_helpers import agent_env, run_agent_cli

KEY = os.environ.get("AGENT_LIVE_OPENROUTER_KEY", "")
MODEL = os.environ.get("AGENT_LIVE_MODEL", "openai/gpt-4o-mini")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not KEY, reason="set AGENT_LIVE_OPENROUTER_KEY to run tests against the real OpenRouter"
    ),
]


def live_env(home: Path) -> dict[str, str]:
    env = agent_env(None, home)
    env["OPENROUTER_API_KEY"] = KEY
    return env


def test_the_catalog_lists_models_with_tool_support(tmp_path: Path) -> None:
    done = run_agent_cli("models", "--tools", "--json", env=live_env(tmp_path), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert MODEL.split(":")[0] in done.stdout


def test_a_real_model_uses_the_calc_server(tmp_path: Path) -> None:
    done = run_agent_cli(
        "run",
        "Use the evaluate tool to compute 123456789 * 987654321 and reply with the number only.",
        "-s",
        "calc",
        "-m",
        MODEL,
        "--json",
        env=live_env(tmp_path),
        cwd=tmp_path,
        timeout=180,
    )
    assert done.code == 0, done.stderr
    result = done.json()
    assert any(c["tool"] == "evaluate" for c in result["tool_calls"])
    assert "121932631112635269" in result["output"].replace(",", "")
    assert KEY not in done.stdout + done.stderr
