"""``agent compare`` end to end: the real CLI, a real MCP server process, simulated models."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from tests.integration.cli_helpers import FIXTURE_SERVER, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, error
from tests.loopback.simulated import SIMULATED, simulated_catalog

FIXTURE = f"{sys.executable} {FIXTURE_SERVER}"
UNASKED = ("--approval", "off")
"""The fixture's tools say nothing, so they count as destructive: these runs do not ask."""
TASK = "Add 2 and 3, and add 4 and 5."
MODEL_FLAGS = [flag for model in SIMULATED for flag in ("-m", model)]


def compare(tmp_path: Path, server: ScriptedOpenRouter, *args: str, stdin: str | None = None) -> Any:
    env = agent_env(server.base_url, tmp_path)
    return run_agent_cli("compare", *args, env=env, cwd=tmp_path, stdin=stdin)


def summary(run: dict[str, Any]) -> tuple[Any, ...]:
    calls = [(c["tool"], c["is_error"]) for c in run["tool_calls"]]
    return (run["requested_model"], run["stop_reason"], run["tool_protocol"], run["turns"], calls)


def test_json_has_one_run_object_per_model_showing_how_each_kind_did(tmp_path: Path) -> None:
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=simulated_catalog()) as server:
        done = compare(tmp_path, server, TASK, "-s", FIXTURE, *UNASKED, *MODEL_FLAGS, "--json", "-v")
    assert done.code == 0, done.stderr
    runs = json.loads(done.stdout)
    add, failed = ("add", False), ("add", True)
    assert [summary(run) for run in runs] == [
        ("sim/capable", "completed", "native", 2, [add, add]),
        ("sim/no-tools", "completed", "text", 2, [add, add]),
        ("sim/sequential", "completed", "native", 3, [add, add]),
        ("sim/wrong-types", "completed", "native", 2, [failed, failed]),
        # Calls written as <tool_call> text in native mode are run: the model continues in text.
        ("sim/text-calls", "completed", "text", 2, [add, add]),
    ]
    assert [run["output"] for run in runs[:3]] == ["Here is what the tools returned: 5; 9"] * 3
    assert runs[4]["output"] == "Here is what the tools returned: 5; 9"
    assert runs[3]["tool_calls"][0]["output"].startswith("Invalid arguments for tool 'add': '")
    assert [run["usage"]["cost"] for run in runs] == [0.002, 0.002, 0.003, 0.002, 0.002]
    assert set(runs[0]) == {
        "requested_model", "output", "data", "stop_reason", "model", "models_tried", "tool_protocol",
        "turns", "tool_calls", "usage", "usage_by_model", "generation_ids", "duration_ms", "error", "servers",
        "session_id",
    }  # fmt: skip
    # One server process serves every model's run.
    assert re.findall(r"· server (\S+): (\d+) tools", done.stderr) == [(Path(sys.executable).name, "9")]
    server.assert_clean()


def test_the_table_compares_outcome_turns_calls_tokens_cost_and_shows_each_answer(tmp_path: Path) -> None:
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=simulated_catalog()) as server:
        done = compare(tmp_path, server, TASK, "-s", FIXTURE, *UNASKED, *MODEL_FLAGS)
    assert done.code == 0, done.stderr
    table, answers = done.stdout.split("\n\n")
    cells = [re.split(r"\s{2,}", line.strip()) for line in table.splitlines()]
    assert [" ".join(row[:-1]) for row in cells] == [
        "MODEL OUTCOME PROTOCOL TURNS TOOL CALLS TOKENS COST",
        "sim/capable completed native 2 2 30 $0.0020",
        "sim/no-tools completed text 2 2 30 $0.0020",
        "sim/sequential completed native 3 2 45 $0.0030",
        "sim/wrong-types completed native 2 2 (2 failed) 30 $0.0020",
        "sim/text-calls completed text 2 2 30 $0.0020",
    ]
    assert all(re.fullmatch(r"\d+ ms|\d+\.\d s", row[-1]) for row in cells[1:])
    assert answers.splitlines() == [
        "sim/capable      Here is what the tools returned: 5; 9",
        "sim/no-tools     Here is what the tools returned: 5; 9",
        "sim/sequential   Here is what the tools returned: 5; 9",
        "sim/wrong-types  Here is what the tools returned: Invalid arguments for tool 'add': "
        "'3' is not of type 'integer' at …",
        "sim/text-calls   Here is what the tools returned: 5; 9",
    ]


def test_protocol_text_runs_every_model_on_the_text_protocol_and_the_prompt_can_come_from_stdin(
    tmp_path: Path,
) -> None:
    with ScriptedOpenRouter(behaviours=SIMULATED, catalog=simulated_catalog()) as server:
        done = compare(
            tmp_path, server, "-", "-s", "calc", "-m", "sim/text-calls", "-m", "sim/capable",
            "--protocol", "text", "--json", stdin="What is 6 times 7?",
        )  # fmt: skip
    assert done.code == 0, done.stderr
    assert [(r["tool_protocol"], r["output"]) for r in json.loads(done.stdout)] == [
        ("text", "Here is what the tools returned: 42"),
        ("text", "Here is what the tools returned: 42"),
    ]
    assert not any("tools" in body for body in server.chat_bodies)


def test_a_404_for_tools_mid_compare_switches_that_model_and_is_remembered(tmp_path: Path) -> None:
    # No catalog: nothing says sim/no-tools lacks tools until the endpoint answers 404.
    with ScriptedOpenRouter(behaviours=SIMULATED) as server:
        first = compare(tmp_path, server, "What is 6 times 7?", "-s", "calc", "-m", "sim/no-tools", "--json")
        second = compare(tmp_path, server, "What is 6 times 7?", "-s", "calc", "-m", "sim/no-tools", "--json")
    assert (first.code, second.code) == (0, 0)
    assert "warning: [sim/no-tools] takes no native tool calls here" in first.stderr
    assert [json.loads(done.stdout)[0]["tool_protocol"] for done in (first, second)] == ["text", "text"]
    assert ["tools" in body for body in server.chat_bodies] == [True, False, False, False, False]


def test_exit_code_is_the_first_runs_when_no_model_completed(tmp_path: Path) -> None:
    broken = {"bad/a": lambda request: error(400, "Provider returned error"), **SIMULATED}
    with ScriptedOpenRouter(behaviours=broken, catalog=simulated_catalog()) as server:
        all_bad = compare(tmp_path, server, "hi", "-m", "bad/a")
        one_good = compare(tmp_path, server, "hi", "-m", "bad/a", "-m", "sim/capable")
        limited = compare(tmp_path, server, TASK, "-s", FIXTURE, "-m", "sim/sequential", "--max-turns", "1")
    assert (all_bad.code, one_good.code, limited.code) == (1, 0, 3)
    assert "bad/a  error: the request was rejected (400): Provider returned error" in all_bad.stdout
    assert "Traceback" not in all_bad.stderr


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    env = agent_env(None, tmp_path)
    bad_protocol = run_agent_cli("compare", "hi", "-m", "a/b", "--protocol", "xml", env=env, cwd=tmp_path)
    no_model = run_agent_cli("compare", "hi", env=env, cwd=tmp_path)
    assert (bad_protocol.code, bad_protocol.stdout) == (2, "")
    assert bad_protocol.stderr == "error: --protocol: expected 'auto', 'native' or 'text', got 'xml'\n"
    assert no_model.code == 2
