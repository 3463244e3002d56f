"""Per-provider tool support end to end: ``agent probe --providers``, routing runs by its verdicts,
and ``agent compare --providers``, against a loopback model served by three provider endpoints:
one that calls tools right, one that sends broken JSON arguments and unknown tool names, and one
that takes no tools.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from tests.integration.cli_helpers import Completed, agent_env, run_agent_cli
from tests.loopback import Reply, ScriptedOpenRouter, catalog_model, endpoint
from tests.loopback.simulated import capable

MODEL = "test/model"
GOOD, BROKEN, NO_TOOLS = "deepinfra/fp8", "brokenai", "plaintext"


def catalog() -> list[dict[str, Any]]:
    return [
        catalog_model(
            MODEL,
            supported_parameters=("tools", "tool_choice", "parallel_tool_calls", "max_tokens"),
            endpoints=[
                endpoint("DeepInfra", tag=GOOD, quantization="fp8"),
                endpoint("BrokenAI", quantization="bf16"),
                endpoint("PlainText", quantization=None, supported_parameters=("max_tokens", "temperature")),
            ],
        )
    ]


def per_provider(request: dict[str, Any]) -> Reply:
    """A capable model, except on BrokenAI: its first call's JSON is cut, the others name no tool."""
    provider = request.get("provider") or {}
    answer = capable(request)
    if provider.get("only") != [BROKEN]:
        return dataclasses.replace(answer, provider="DeepInfra")
    calls = [
        dataclasses.replace(c, arguments='{"city": "Par') if i == 0 else dataclasses.replace(c, name="lookup")
        for i, c in enumerate(answer.tool_calls)
    ]
    return dataclasses.replace(answer, tool_calls=calls, provider="BrokenAI")


def server() -> ScriptedOpenRouter:
    return ScriptedOpenRouter(behaviours={MODEL: per_provider}, catalog=catalog())


def agent(server: ScriptedOpenRouter, home: Path, *args: str) -> Completed:
    done = run_agent_cli(*args, env=agent_env(server.base_url, home), cwd=home)
    done.assert_no_key()
    return done


def rows(stdout: str) -> list[str]:
    """The table's rows, cells joined by one space, the TIME column as <time>."""
    table = stdout.split("\n\n")[0].splitlines()
    cells = [re.split(r"\s{2,}", line.strip()) for line in table]
    return [" ".join([*r[:-1], r[-1] if i == 0 or r[-1] == "-" else "<time>"]) for i, r in enumerate(cells)]


def pins_of(bodies: list[Any]) -> list[Any]:
    """The endpoint each request was pinned to (``provider.only``)."""
    return [(body.get("provider") or {}).get("only") for body in bodies]


def test_probe_providers_tables_each_endpoint_and_later_runs_prefer_those_that_passed(tmp_path: Path) -> None:
    with server() as loopback:
        probed = agent(loopback, tmp_path, "probe", MODEL, "--providers", "--checks", "single,typed,stream")
        probes = len(loopback.chat_bodies)
        routed = agent(loopback, tmp_path, "run", "What is 6 times 7?", "-s", "calc", "-m", MODEL, "-v")
        routed_bodies = loopback.chat_bodies[probes:]
        chosen = agent(loopback, tmp_path, "run", "What is 6 times 7?", "-m", MODEL, "--only", GOOD)
        chosen_body = loopback.chat_bodies[-1]
    assert probed.code == 0, probed.stderr
    assert rows(probed.stdout) == [
        "MODEL PROVIDER QUANT single typed stream VERDICT COST TIME",
        f"{MODEL} {GOOD} fp8 pass pass pass pass $0.0030 <time>",
        f"{MODEL} {BROKEN} bf16 fail fail fail fail $0.0030 <time>",
        f"{MODEL} {NO_TOOLS} - - - - no tools - -",
    ]
    assert f"{MODEL} @ {BROKEN}:\n  single, typed, stream: fail: " in probed.stdout
    assert f"info: {MODEL}: runs will prefer {GOOD}; avoiding {BROKEN}\n" in probed.stderr
    # Each probe request went to one endpoint alone; the one without tools was never asked.
    assert {tuple(pin) for pin in pins_of(loopback.chat_bodies[:probes])} == {(GOOD,), (BROKEN,)}
    assert all(b["provider"]["allow_fallbacks"] is False for b in loopback.chat_bodies[:probes])

    stored = json.loads((tmp_path / "agent-cache" / "probes.json").read_text())
    assert stored["format"] == 2
    (record,) = [models[MODEL] for models in stored["endpoints"].values()]
    assert {tag: v["verdict"] for tag, v in record["providers"].items()} == {
        GOOD: "pass",
        BROKEN: "fail",
        NO_TOOLS: "no_tools",
    }

    assert routed.code == 0, routed.stderr
    assert routed.stdout == "Here is what the tools returned: 42\n"
    assert {json.dumps(b["provider"], sort_keys=True) for b in routed_bodies} == {
        json.dumps({"order": [GOOD], "ignore": [BROKEN], "require_parameters": True}, sort_keys=True)
    }
    assert (
        f"info: routing {MODEL} to providers that passed agent probe --providers: {GOOD} "
        f"(ignoring {BROKEN}, which failed)" in routed.stderr
    )
    # --only is the user's choice: the verdicts do not touch it.
    assert chosen.code == 0, chosen.stderr
    assert chosen_body["provider"] == {"only": [GOOD]}
    assert "routing" not in chosen.stderr
    loopback.assert_clean()


def test_probe_providers_json_and_compare_providers_give_a_row_per_provider(tmp_path: Path) -> None:
    with server() as loopback:
        probed = agent(loopback, tmp_path, "probe", MODEL, "--providers", "--checks", "single", "--json")
        compared = agent(
            loopback, tmp_path, "compare", "What is 6 times 7?", "-m", MODEL, "--providers",
            "-s", "calc", "--max-turns", "2",
        )  # fmt: skip
        compared_bodies = loopback.chat_bodies[-4:]
        as_json = agent(
            loopback, tmp_path, "compare", "What is 6 times 7?", "-m", MODEL, "--providers", "--json"
        )
        unknown = agent(loopback, tmp_path, "probe", "nope/model", "--providers")
        base_url = loopback.base_url
    assert probed.code == 0, probed.stderr
    (report,) = json.loads(probed.stdout)
    assert {k: report[k] for k in ("model", "listed_as", "error", "recorded")} == {
        "model": MODEL,
        "listed_as": MODEL,
        "error": None,
        "recorded": True,
    }
    assert [
        (p["provider"], p["tag"], p["quantization"], p["supports_tools"], p["verdict"])
        for p in report["providers"]
    ] == [
        ("DeepInfra", GOOD, "fp8", True, "pass"),
        ("BrokenAI", BROKEN, "bf16", True, "fail"),
        ("PlainText", NO_TOOLS, None, False, "no_tools"),
    ]
    good, broken, _ = report["providers"]
    assert [c["check"] for c in good["checks"]] == ["single"]
    assert broken["checks"][0]["detail"].startswith("invalid arguments")
    assert good["pricing"] == {"prompt": "0.000001", "completion": "0.000002", "request": "0"}

    assert compared.code == 0, compared.stderr
    table = [re.split(r"\s{2,}", line.strip())[:5] for line in compared.stdout.split("\n\n")[0].splitlines()]
    assert table[:3] == [
        ["MODEL", "OUTCOME", "PROTOCOL", "TURNS", "TOOL CALLS"],
        [f"{MODEL} @ {GOOD}", "completed", "native", "2", "1"],
        [f"{MODEL} @ {BROKEN}", "completed", "native", "2", "1 (1 failed)"],
    ]
    assert f"info: {MODEL} @ {NO_TOOLS}: not run: the endpoint takes no tools" in compared.stderr
    assert sorted(pin[0] for pin in pins_of(compared_bodies)) == sorted([GOOD, GOOD, BROKEN, BROKEN])
    runs = json.loads(as_json.stdout)
    assert [(r["provider"], r["provider_name"], r["stop_reason"], r["output"]) for r in runs] == [
        (GOOD, "DeepInfra", "completed", "42"),
        (BROKEN, "BrokenAI", "completed", "42"),
    ]
    assert (unknown.code, unknown.stdout) == (1, "")
    assert (
        "error: nope/model: the provider endpoints of nope/model could not be listed: "
        f"{base_url}/models/nope/model/endpoints knows no such model (404)\n"
    ) in unknown.stderr
    loopback.assert_clean()
