"""``agent models`` end to end: the real CLI against a loopback catalog."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_helpers import agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, catalog_model
from tests.loopback.simulated import simulated_catalog

CATALOG = [
    *simulated_catalog(),
    catalog_model(
        "big/newest",
        context_length=1_048_576,
        prompt_price="0.000003",
        completion_price="0.000015",
        created=1_760_000_000,
        name="Big Newest",
    ),
    catalog_model("odd/unpriced", supported_parameters=(), prompt_price="-1", completion_price="-1"),
]


def test_the_table_lists_every_model_by_id_with_tools_context_and_prices(tmp_path: Path) -> None:
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        done = run_agent_cli("models", env=agent_env(server.base_url, tmp_path), cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == [
        "MODEL            TOOLS  CONTEXT  $/M IN  $/M OUT",
        "big/newest       yes      1.05M    3.00    15.00",
        "odd/unpriced     no        128k       ?        ?",
        "sim/capable      yes       200k    1.00     2.00",
        "sim/no-tools     no          8k       0        0  free",
        "sim/sequential   yes        33k    1.00     2.00",
        "sim/text-calls   yes       128k    1.00     2.00",
        "sim/wrong-types  yes       128k    0.50     2.00",
    ]
    assert done.stderr == "info: 7 of 7 models (5 with tools)\n"


def test_filters_and_sorting_narrow_and_order_the_list(tmp_path: Path) -> None:
    env = agent_env(None, tmp_path)
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        env["OPENROUTER_BASE_URL"] = server.base_url
        by_price = run_agent_cli("models", "--tools", "--sort", "price", env=env, cwd=tmp_path)
        newest = run_agent_cli("models", "--sort", "newest", "--search", "NEW", env=env, cwd=tmp_path)
        words = run_agent_cli("models", "--search", "sim types", env=env, cwd=tmp_path)
        largest = run_agent_cli("models", "--sort", "context", "--free", env=env, cwd=tmp_path)
    assert [line.split()[0] for line in by_price.stdout.splitlines()[1:]] == [
        "sim/wrong-types",
        "sim/capable",
        "sim/sequential",
        "sim/text-calls",
        "big/newest",
    ]
    assert [line.split()[0] for line in newest.stdout.splitlines()[1:]] == ["big/newest"]
    assert [line.split()[0] for line in words.stdout.splitlines()[1:]] == ["sim/wrong-types"]
    assert [line.split()[0] for line in largest.stdout.splitlines()[1:]] == ["sim/no-tools"]


def test_json_prints_one_list_of_models_with_prices_per_million_tokens(tmp_path: Path) -> None:
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        done = run_agent_cli(
            "models", "--json", "--search", "big", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout) == [
        {
            "id": "big/newest",
            "name": "Big Newest",
            "tools": True,
            "context_length": 1_048_576,
            "prompt_per_million": 3.0,
            "completion_per_million": 15.0,
            "free": False,
            "created": 1_760_000_000,
        }
    ]


def test_listing_needs_no_api_key_and_sends_none(tmp_path: Path) -> None:
    env = agent_env(None, tmp_path)
    del env["OPENROUTER_API_KEY"]
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        env["OPENROUTER_BASE_URL"] = server.base_url
        done = run_agent_cli("models", "--free", env=env, cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "authorization" not in server.requests[0].headers


def test_a_refresh_that_fails_falls_back_to_the_cache_with_a_warning(tmp_path: Path) -> None:
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        env = agent_env(server.base_url, tmp_path)
        first = run_agent_cli("models", "--tools", env=env, cwd=tmp_path)
    again = run_agent_cli("models", "--tools", "--refresh", env=env, cwd=tmp_path)
    assert (first.code, again.code) == (0, 0)
    assert again.stdout == first.stdout
    warning, info = again.stderr.splitlines()
    assert warning.startswith("warning: using the cached model catalog of ")
    assert "cannot reach the endpoint" in warning
    assert info == "info: 5 of 7 models (5 with tools)"


def test_an_unreachable_catalog_without_a_cache_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        base_url = server.base_url
    done = run_agent_cli("models", env=agent_env(base_url, tmp_path), cwd=tmp_path)
    assert done.code == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: cannot reach the endpoint 127.0.0.1:")
    assert len(done.stderr.splitlines()) == 1


def test_a_bad_sort_key_is_a_usage_error(tmp_path: Path) -> None:
    done = run_agent_cli("models", "--sort", "cheap", env=agent_env(None, tmp_path), cwd=tmp_path)
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr == "error: --sort: expected one of id, newest, price, context, got 'cheap'\n"
