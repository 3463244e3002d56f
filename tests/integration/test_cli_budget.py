"""Cost and limits through the real CLI: ``--max-cost``, ``--max-tokens``, usage per model, ``agent key``.

A loopback OpenRouter charges each request what OpenRouter would at the catalog's prices, for
the tokens the request holds as a tokenizer counts them (about four characters a token of text,
tool calls and tool schemas, and a few a message), so the tests can check that no request the
runtime sent could have taken the run over its budget.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import TEST_KEY, Completed, agent_env, run_agent_cli
from tests.loopback import (
    ScriptedOpenRouter,
    Step,
    UsageReport,
    call,
    catalog_model,
    error,
    key_info,
    last_tool_result,
    reply,
)

PROMPT_PRICE, COMPLETION_PRICE = 0.00001, 0.00002
"""$10 per million prompt tokens, $20 per million completion tokens."""
CATALOG = [catalog_model("test/model", prompt_price="0.00001", completion_price="0.00002")]
MODEL_OUTPUT_LIMIT = 4096
"""``top_provider.max_completion_tokens`` of ``catalog_model``: what a request may write unasked."""
COMPLETION_TOKENS = 30
FEATURES_SERVER = str(Path(__file__).parents[1] / "fixtures" / "mcp_client_features_server.py")

NO_DETAILS = {"cached_tokens": 0, "cache_write_tokens": 0, "reasoning_tokens": 0}
"""The usage fields these runs leave at zero."""


def prompt_tokens(body: dict[str, Any]) -> int:
    """The prompt tokens of a request: four characters a token, four tokens of framing a message."""
    chars = len(json.dumps(body.get("tools", [])))
    for message in body["messages"]:
        chars += len(message.get("content") or "") + len(json.dumps(message.get("tool_calls", [])))
    return chars // 4 + 4 * len(body["messages"])


def charged(body: dict[str, Any], *, cost: bool = True) -> UsageReport:
    """The usage OpenRouter reports for ``body`` at the catalog prices."""
    prompt = prompt_tokens(body)
    usd = prompt * PROMPT_PRICE + COMPLETION_TOKENS * COMPLETION_PRICE
    return UsageReport(prompt_tokens=prompt, completion_tokens=COMPLETION_TOKENS, cost=usd if cost else None)


def keeps_calling(body: dict[str, Any]) -> Step:
    """A model that never stops calling a tool: only a limit ends its run."""
    return reply(None, call("evaluate", {"expression": "1+1"}), usage=charged(body))


def run(server: ScriptedOpenRouter, tmp_path: Path, *args: str) -> Completed:
    return run_agent_cli(
        "run", "go", "-m", "test/model", *args, env=agent_env(server.base_url, tmp_path), cwd=tmp_path
    )


def warnings(done: Completed) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("warning: ")]


# -- limits --------------------------------------------------------------------------------


def test_max_cost_stops_before_a_request_that_could_cross_the_budget(tmp_path: Path) -> None:
    budget = 0.05
    with ScriptedOpenRouter(behaviours={None: keeps_calling}, catalog=CATALOG) as server:
        done = run(server, tmp_path, "-s", "calc", "--json", "--max-cost", str(budget))
    assert done.code == 3, done.stderr
    result = done.json()
    assert result["stop_reason"] == "max_cost"
    bodies = server.chat_bodies
    costs = [charged(body).cost or 0.0 for body in bodies]
    assert len(bodies) >= 3
    assert sum(costs) <= budget  # the server got no request past the cap
    for index, body in enumerate(bodies):  # not even in the worst case: every token it may write
        worst = (
            prompt_tokens(body) * PROMPT_PRICE + body.get("max_tokens", MODEL_OUTPUT_LIMIT) * COMPLETION_PRICE
        )
        assert sum(costs[:index]) + worst <= budget
    assert "max_tokens" in bodies[-1]  # the last request asked only for what the budget left
    assert result["usage"]["cost"] == pytest.approx(sum(costs))
    assert result["usage"]["cost_source"] == "reported"
    assert result["turns"] == len(bodies)
    [stopped] = [w for w in warnings(done) if "stopped" in w]
    assert stopped.startswith(f"warning: stopped before turn {len(bodies) + 1}: the next request (about ")
    assert stopped.endswith(f"of the budget of ${budget:g} is left (--max-cost)")
    done.assert_no_key()


def test_max_tokens_stops_before_a_request_that_could_cross_the_limit(tmp_path: Path) -> None:
    limit = 3000
    with ScriptedOpenRouter(behaviours={None: keeps_calling}, catalog=CATALOG) as server:
        done = run(server, tmp_path, "-s", "calc", "--json", "--max-tokens", str(limit))
    assert done.code == 3, done.stderr
    result = done.json()
    assert result["stop_reason"] == "max_tokens"
    used = 0
    for body in server.chat_bodies:
        assert used + prompt_tokens(body) + body.get("max_tokens", MODEL_OUTPUT_LIMIT) <= limit
        used += prompt_tokens(body) + COMPLETION_TOKENS
    assert result["usage"]["total_tokens"] == used <= limit
    assert len(server.chat_bodies) >= 2
    assert any(w.endswith("tokens are left (--max-tokens)") for w in warnings(done))


def test_an_unknown_price_is_said_once_and_the_budget_stops_the_run_after_crossing_it(tmp_path: Path) -> None:
    def dear(body: dict[str, Any]) -> Step:
        return reply(None, call("evaluate", {"expression": "1+1"}), usage=UsageReport(cost=0.02))

    with ScriptedOpenRouter(behaviours={None: dear}) as server:  # no catalog: no price
        done = run(server, tmp_path, "-s", "calc", "--json", "--max-cost", "0.05")
    assert done.code == 3, done.stderr
    assert done.json()["stop_reason"] == "max_cost"
    assert len(server.chat_bodies) == 3  # $0.06: over by one request, as it was before prices
    assert warnings(done) == [
        "warning: the price of test/model is unknown: --max-cost is checked after each response, "
        "so the run may go over it by one request",
        "warning: stopped at $0.0600: the budget of $0.05 is spent (--max-cost)",
    ]


# -- usage and cost ----------------------------------------------------------------------------


def test_cost_is_estimated_from_catalog_prices_when_the_response_has_none(tmp_path: Path) -> None:
    catalog = [catalog_model("test/model", prompt_price="0.000001", completion_price="0.000002")]
    answer = reply("hi", usage=UsageReport(prompt_tokens=1000, completion_tokens=500, cost=None))
    with ScriptedOpenRouter(answer, catalog=catalog) as server:
        done = run(server, tmp_path, "--no-servers", "--json")
    assert done.code == 0, done.stderr
    usage = {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}
    estimated = {**usage, "cost": pytest.approx(0.002), "cost_source": "estimated", **NO_DETAILS}
    result = done.json()
    assert result["usage"] == estimated
    assert result["usage_by_model"] == {"test/model": estimated}


def test_usage_is_summed_per_model_when_a_fallback_answers(tmp_path: Path) -> None:
    catalog = [
        catalog_model("test/primary"),
        catalog_model("test/backup", prompt_price="0.000001", completion_price="0.000002"),
    ]
    with ScriptedOpenRouter(
        models={
            "test/primary": [
                reply(None, call("evaluate", {"expression": "6*7"}), usage=UsageReport(cost=0.001)),
                error(503, "Provider returned error"),
            ],
            "test/backup": [
                lambda body: reply(
                    f"It is {last_tool_result(body)}",
                    usage=UsageReport(prompt_tokens=1000, completion_tokens=100, cost=None),
                )
            ],
        },
        catalog=catalog,
    ) as server:
        done = run_agent_cli(
            "run",
            "What is 6*7?",
            "-m",
            "test/primary",
            "--fallback",
            "test/backup",
            "-s",
            "calc",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    result = done.json()
    assert (result["output"], result["model"]) == ("It is 42", "test/backup")
    assert result["models_tried"] == ["test/primary", "test/backup"]
    assert result["usage_by_model"] == {
        "test/primary": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "cost": 0.001,
            "cost_source": "reported",
            **NO_DETAILS,
        },
        "test/backup": {
            "prompt_tokens": 1000,
            "completion_tokens": 100,
            "total_tokens": 1100,
            "cost": pytest.approx(0.0012),
            "cost_source": "estimated",
            **NO_DETAILS,
        },
    }
    assert result["usage"] == {
        "prompt_tokens": 1010,
        "completion_tokens": 105,
        "total_tokens": 1115,
        "cost": pytest.approx(0.0022),
        "cost_source": "mixed",
        **NO_DETAILS,
    }


@pytest.mark.parametrize("mode", ["legacy", None])
def test_a_completion_sampled_for_a_server_counts_toward_the_run(tmp_path: Path, mode: str | None) -> None:
    server_entry: dict[str, Any] = {"command": sys.executable, "args": [FEATURES_SERVER]}
    if mode is not None:
        server_entry["mode"] = mode
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"fx": server_entry}}))
    with ScriptedOpenRouter(
        reply(None, call("summarise", {"text": "a long story"}), usage=UsageReport(cost=0.001)),
        reply("Short.", usage=UsageReport(prompt_tokens=20, completion_tokens=2, cost=0.002)),
        lambda body: reply(f"The tool said: {last_tool_result(body)}", usage=UsageReport(cost=0.004)),
    ) as server:
        done = run(server, tmp_path, "--mcp-config", str(config), "--allow-sampling", "--yes", "--json")
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["output"] == "The tool said: test/model: Short."
    assert result["usage"] == {
        "prompt_tokens": 40,
        "completion_tokens": 12,
        "total_tokens": 52,
        "cost": pytest.approx(0.007),
        "cost_source": "reported",
        **NO_DETAILS,
    }
    assert list(result["usage_by_model"]) == ["test/model"]


@pytest.mark.parametrize("mode", ["legacy", None])
def test_a_server_is_refused_a_completion_the_runs_limit_cannot_pay_for(
    tmp_path: Path, mode: str | None
) -> None:
    server_entry: dict[str, Any] = {"command": sys.executable, "args": [FEATURES_SERVER]}
    if mode is not None:
        server_entry["mode"] = mode
    config = tmp_path / "mcp.json"
    config.write_text(json.dumps({"mcpServers": {"fx": server_entry}}))
    almost_all = UsageReport(prompt_tokens=10, completion_tokens=4985, cost=0.001)  # 5 of 5,000 left
    with ScriptedOpenRouter(
        reply(None, call("summarise", {"text": "a long story"}), usage=almost_all)
    ) as server:
        done = run(
            server,
            tmp_path,
            "--mcp-config",
            str(config),
            "--allow-sampling",
            "--yes",
            "--max-tokens",
            "5000",
            "--json",
        )
    assert done.code == 3, done.stderr
    result = done.json()
    assert result["stop_reason"] == "max_tokens"
    assert len(server.chat_bodies) == 1  # neither the server's completion nor another turn
    [tool_call] = result["tool_calls"]
    assert tool_call["is_error"]
    assert (
        "Sampling request refused: the run's limit does not allow it: the next request needs about"
        in (tool_call["output"])
    )


# -- the key -------------------------------------------------------------------------------


def test_a_key_with_less_credit_than_max_cost_is_warned_about_before_the_run(tmp_path: Path) -> None:
    key = key_info(limit=1.0, limit_remaining=0.02)
    with ScriptedOpenRouter(reply("hi"), catalog=CATALOG, key=key) as server:
        done = run(server, tmp_path, "--no-servers", "--max-cost", "0.5")
    assert done.code == 0, done.stderr
    assert warnings(done) == [
        "warning: the API key has $0.02 of credit left, less than the --max-cost of $0.5: "
        "the run may stop early with 402 (insufficient credits)"
    ]
    assert [r.path for r in server.requests].count("/api/v1/key") == 1
    done.assert_no_key()


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ((), key_info(limit=1.0, limit_remaining=0.02)),  # no --max-cost: no look-up
        (("--max-cost", "0.5"), key_info()),  # a key without a limit
        (("--max-cost", "0.5"), key_info(limit=10.0, limit_remaining=9.0)),
    ],
    ids=["no-max-cost", "unlimited-key", "enough-credit"],
)
def test_no_credit_warning_when_there_is_nothing_to_warn_of(
    tmp_path: Path, args: tuple[str, ...], key: dict[str, Any]
) -> None:
    with ScriptedOpenRouter(reply("hi"), catalog=CATALOG, key=key) as server:
        done = run(server, tmp_path, "--no-servers", *args)
    assert done.code == 0, done.stderr
    assert warnings(done) == []
    looked_up = "/api/v1/key" in [r.path for r in server.requests]
    assert looked_up == bool(args)


def test_agent_key_shows_credits_used_limit_remaining_and_rate_limits(tmp_path: Path) -> None:
    key = key_info(usage=2.5, limit=10.0, limit_remaining=7.5, limit_reset="monthly", usage_daily=0.125)
    with ScriptedOpenRouter(key=key) as server:
        done = run_agent_cli("key", env=agent_env(server.base_url, tmp_path), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "key           sk-or-v1-abc...789",
        "credits used  $2.50 (today $0.12, this week $2.50, this month $2.50)",
        "limit         $10.00, resets monthly",
        "remaining     $7.50",
        "free tier     no",
        "rate limit    1,000 requests per 1h (deprecated by OpenRouter)",
        "free models   20 requests a minute; 50 a day, or 1000 with at least 10 credits bought",
    ]
    assert server.requests[0].headers["authorization"] == f"Bearer {TEST_KEY}"
    done.assert_no_key()


def test_agent_key_json_is_one_object(tmp_path: Path) -> None:
    with ScriptedOpenRouter(key=key_info(is_free_tier=True)) as server:
        done = run_agent_cli("key", "--json", env=agent_env(server.base_url, tmp_path), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert done.json() == {
        "label": "sk-or-v1-abc...789",
        "usage": 1.25,
        "usage_daily": 1.25,
        "usage_weekly": 1.25,
        "usage_monthly": 1.25,
        "limit": None,
        "limit_remaining": None,
        "limit_reset": None,
        "is_free_tier": True,
        "expires_at": None,
        "rate_limit": {"requests": 1000, "interval": "1h"},
    }
    done.assert_no_key()


def test_agent_key_with_a_refused_key_exits_4_without_showing_it(tmp_path: Path) -> None:
    with ScriptedOpenRouter(api_key="sk-or-v1-another-key-0123456789abcdef") as server:
        done = run_agent_cli("key", "--json", env=agent_env(server.base_url, tmp_path), cwd=tmp_path)
    assert done.code == 4
    assert done.stdout == ""
    assert "the API key was refused (401): User not found." in done.stderr
    done.assert_no_key()


def test_agent_key_without_a_key_is_a_configuration_error(tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        env = agent_env(server.base_url, tmp_path)
        del env["OPENROUTER_API_KEY"]
        done = run_agent_cli("key", env=env, cwd=tmp_path)
    assert done.code == 2
    assert "OPENROUTER_API_KEY" in done.stderr
    assert server.requests == []
