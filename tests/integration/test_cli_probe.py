"""``agent probe`` end to end: the real CLI, the loopback server playing each kind of model."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, error
from tests.loopback.simulated import SIMULATED, simulated_catalog

MODELS = list(SIMULATED)
ALL_CHOICES = ["auto", "required", "none", "named"]


def rows(stdout: str) -> list[str]:
    """The table's rows, cells (split on runs of 2+ spaces) joined by one space, times as <time>."""
    table = stdout.split("\n\n")[0].splitlines()
    cells = [re.split(r"\s{2,}", line.strip()) for line in table]
    return [" ".join([*row[:-1], "<time>" if index else row[-1]]) for index, row in enumerate(cells)]


def probe(tmp_path: Path, server: ScriptedOpenRouter, *args: str) -> Any:
    return run_agent_cli("probe", *args, env=agent_env(server.base_url, tmp_path), cwd=tmp_path)


def test_the_table_shows_each_kinds_verdicts_and_why_checks_did_not_pass(tmp_path: Path) -> None:
    report = tmp_path / "probe.md"
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=simulated_catalog()) as server:
        done = probe(tmp_path, server, *MODELS, "--markdown", str(report))
    assert done.code == 0, done.stderr
    assert rows(done.stdout) == [
        "MODEL single typed parallel restraint required result stream text PASSED COST TIME",
        "sim/capable pass pass pass pass pass pass pass pass 8/8 $0.0090 <time>",
        "sim/no-tools fail skip skip skip skip skip skip pass 1/2 $0.0010 <time>",
        "sim/sequential pass pass fail pass skip pass pass pass 6/7 $0.0080 <time>",
        "sim/wrong-types pass fail pass pass pass pass pass pass 7/8 $0.0090 <time>",
        "sim/text-calls fail fail fail pass fail fail fail pass 2/8 $0.0080 <time>",
    ]
    assert done.stdout.split("\n\n")[1:] == [
        "sim/no-tools:\n"
        "  single: fail: the endpoint takes no tools (404 no endpoints support tool use)\n"
        "  typed, parallel, restraint, required, result, stream: skip: "
        "not run: the endpoint takes no tools (404)",
        "sim/sequential:\n"
        '  parallel: fail: one call in the turn (get_weather({"city":"Paris"})); expected two\n'
        "  required: skip: not sent: the catalog says tool_choice=required is unsupported",
        "sim/wrong-types:\n  typed: fail: invalid arguments: '4' is not of type 'integer' at 'guests'",
        "sim/text-calls:\n  single, typed, parallel, required, result, stream: fail: "
        "wrote the call as <tool_call> text instead of a native tool call\n",
    ]
    markdown = report.read_text()
    assert (
        "| MODEL | single | typed | parallel | restraint | required | result | stream | text | PASSED |"
        in markdown
    )
    assert (
        "| sim/wrong-types | pass | fail | pass | pass | pass | pass | pass | pass | 7/8 | $0.0090 |"
        in markdown
    )
    assert "- typed: **fail**: invalid arguments: '4' is not of type 'integer' at 'guests'" in markdown
    assert (
        "warning: sim/text-calls: no native tool calls; `agent run --protocol auto` will use the text "
        "protocol\n" in done.stderr
    )
    server.assert_clean()


def test_json_lists_every_check_and_the_facts_recorded(tmp_path: Path) -> None:
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=simulated_catalog()) as server:
        done = probe(tmp_path, server, "sim/capable", "sim/no-tools", "--json")
    assert done.code == 0, done.stderr
    capable, no_tools = json.loads(done.stdout)
    assert {k: capable[k] for k in ("model", "tools_refused", "cost", "recorded")} == {
        "model": "sim/capable",
        "tools_refused": False,
        "cost": pytest.approx(0.009),
        "recorded": {"native_tools": True, "tool_choice": ALL_CHOICES, "parallel_tool_calls": True},
    }
    first = capable["checks"][0]
    assert (first["check"], first["verdict"], first["detail"], first["cost"]) == (
        "single",
        "pass",
        'get_weather({"city":"Paris"})',
        0.001,
    )
    assert first["latency_ms"] > 0
    assert no_tools["recorded"] == {"native_tools": False}
    assert [c["verdict"] for c in no_tools["checks"]] == ["fail", *["skip"] * 6, "pass"]


def test_stored_verdicts_make_later_runs_start_on_the_right_protocol(tmp_path: Path) -> None:
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=simulated_catalog()) as server:
        env = agent_env(server.base_url, tmp_path)
        probed = probe(tmp_path, server, "sim/text-calls", "sim/capable")
        before = len(server.chat_bodies)
        runs = {
            model: run_agent_cli(
                "run", "What is 6 times 7?", "-s", "calc", "-m", model, "--json", env=env, cwd=tmp_path
            )
            for model in ("sim/text-calls", "sim/capable")
        }
    assert probed.code == 0, probed.stderr
    # The catalog says sim/text-calls takes tools; the probe found it writes its calls as text.
    assert {model: done.json()["tool_protocol"] for model, done in runs.items()} == {
        "sim/text-calls": "text",
        "sim/capable": "native",
    }
    assert runs["sim/text-calls"].json()["output"] == "Here is what the tools returned: 42"
    assert ["tools" in body for body in server.chat_bodies[before:]] == [False, False, True, True]


def test_exit_1_only_when_every_model_errored(tmp_path: Path) -> None:
    down = {"bad/a": lambda request: error(400, "Provider returned error"), **SIMULATED}
    with ScriptedOpenRouter(behaviours=down, catalog=simulated_catalog()) as server:
        one_bad = probe(tmp_path, server, "bad/a", "sim/capable", "--retries", "0")
        all_bad = probe(tmp_path, server, "bad/a", "--retries", "0")
    assert one_bad.code == 0, one_bad.stderr
    assert all_bad.code == 1
    assert rows(all_bad.stdout)[1] == "bad/a error skip skip skip skip skip skip error 0/0 - <time>"
    assert "warning: model bad/a is not in the endpoint's catalog" in all_bad.stderr
    assert "Traceback" not in all_bad.stderr


def test_a_refused_key_is_exit_4_without_showing_the_key(tmp_path: Path) -> None:
    with ScriptedOpenRouter(behaviours=SIMULATED, api_key="sk-or-v1-the-right-one") as server:
        done = probe(tmp_path, server, "sim/capable", "--retries", "0")
    assert done.code == 4
    assert "the API key was refused (401)" in done.stdout
    done.assert_no_key()


def test_a_missing_api_key_is_a_configuration_error(tmp_path: Path) -> None:
    env = agent_env("http://127.0.0.1:9/api/v1", tmp_path)
    del env["OPENROUTER_API_KEY"]
    done = run_agent_cli("probe", "sim/capable", env=env, cwd=tmp_path)
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr.startswith("error: ") and "OPENROUTER_API_KEY" in done.stderr
