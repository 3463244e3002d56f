"""``agent probe MODEL...``: the check battery against each model, verdicts as a table, stored for runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.common import run_command, warn
from agent.cli.exit_codes import EXIT_OK
from agent.cli.options import split_values
from agent.cli.tables import format_cost, format_duration, markdown_table, text_table
from agent.cli.terminal import json_safe
from agent.errors import ConfigError
from agent.options import OutputOptions

if TYPE_CHECKING:
    from agent.core.probing import ProbePlan
    from agent.models.probe import ModelProbe

__all__ = ["execute", "probe_lines"]


def _cells(probe: ModelProbe) -> list[str]:
    decided = [c for c in probe.checks if c.verdict in ("pass", "fail")]
    passed = sum(c.verdict == "pass" for c in decided)
    return [
        probe.model,
        *(c.verdict for c in probe.checks),
        f"{passed}/{len(decided)}",
        format_cost(probe.cost),
        format_duration(probe.latency_ms),
    ]


def _headers() -> list[str]:
    from agent.models.probe import CHECKS

    return ["MODEL", *(c.name for c in CHECKS), "PASSED", "COST", "TIME"]


def _notes(probe: ModelProbe) -> list[tuple[str, str, str]]:
    """(checks, verdict, detail) for every check that did not pass; equal neighbours grouped."""
    notes = []
    others = [c for c in probe.checks if c.verdict != "pass"]
    for (verdict, detail), group in groupby(others, key=lambda c: (c.verdict, c.detail)):
        notes.append((", ".join(c.check for c in group), verdict, detail))
    return notes


def probe_lines(probes: Sequence[ModelProbe]) -> list[str]:
    """The table on stdout: models x checks, then one line per check that did not pass."""
    headers = _headers()
    right = {len(headers) - 3, len(headers) - 2, len(headers) - 1}
    lines = text_table(headers, [_cells(p) for p in probes], right=right)
    for probe in probes:
        notes = _notes(probe)
        if notes:
            lines.append("")
            lines.append(f"{probe.model}:")
            lines += [f"  {checks}: {verdict}: {detail}" for checks, verdict, detail in notes]
    return lines


def markdown_lines(probes: Sequence[ModelProbe]) -> list[str]:
    """The same report as Markdown: a table, then the details of each check that did not pass."""
    from agent.models.probe import CHECKS

    headers = _headers()
    right = {len(headers) - 3, len(headers) - 2, len(headers) - 1}
    lines = ["# agent probe", "", *markdown_table(headers, [_cells(p) for p in probes], right=right), ""]
    lines += ["Checks:", ""] + [f"- `{c.name}`: {c.title}" for c in CHECKS]
    for probe in probes:
        notes = _notes(probe)
        if notes:
            lines += ["", f"## {probe.model}", ""]
            lines += [f"- {checks}: **{verdict}**: {detail}" for checks, verdict, detail in notes]
    return [*lines, ""]


def execute(values: dict[str, Any]) -> int:
    """Probe as the CLI does and return the exit code."""
    agent_values, output_values, own = split_values(values)
    output = OutputOptions(**output_values)
    return run_command(lambda: _main(agent_values, output, own), verbose=output.verbose)


async def _main(agent_values: dict[str, Any], output: OutputOptions, own: dict[str, Any]) -> int:
    from agent.cli.trust import settle_project_trust
    from agent.core.agent import Agent
    from agent.core.probing import probe_models
    from agent.options import parse_options

    models = list(dict.fromkeys(m.strip() for m in own["model_ids"]))
    if not models or "" in models:
        raise ConfigError("give one or more model ids", source="MODEL")
    options = parse_options({**agent_values, "model": models[0], "no_servers": True}, as_flags=True)
    settle_project_trust(interactive=not output.json_output)
    async with Agent(options) as agent:
        plans, note = await probe_models(
            agent, models, concurrency=own["concurrency"], check_timeout=own["check_timeout"], on_done=_done
        )
    if note:
        warn(note)
    for plan in plans:
        if plan.listed is False:
            warn(f"model {plan.model} is not in the endpoint's catalog (look it up: `agent models --search`)")
        if plan.store_error:
            warn(f"could not store the verdicts for {plan.model}: {plan.store_error}")
        elif plan.recorded.get("native_tools") is False:
            warn(
                f"{plan.model}: no native tool calls; `agent run --protocol auto` will use the text protocol"
            )
    probes = [p.probe for p in plans if p.probe is not None]
    if output.json_output:
        sys.stdout.write(json_safe(json.dumps([_json(p) for p in plans], ensure_ascii=False)) + "\n")
    else:
        sys.stdout.write("\n".join(probe_lines(probes)) + "\n")
    if own["markdown"] is not None:
        _write(own["markdown"], "\n".join(markdown_lines(probes)))
    if all(p.errored for p in probes):
        codes = {p.exit_code for p in probes}
        return codes.pop() if len(codes) == 1 else 1
    return EXIT_OK


def _done(plan: ProbePlan) -> None:
    assert plan.probe is not None
    counts = {v: sum(c.verdict == v for c in plan.probe.checks) for v in ("pass", "fail", "error", "skip")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    warn(f"{plan.model}: {summary} ({format_duration(plan.seconds * 1000)})", level="info")


def _json(plan: ProbePlan) -> dict[str, Any]:
    probe = plan.probe
    assert probe is not None
    return {
        **probe.model_dump(mode="json"),
        "cost": probe.cost,
        "latency_ms": probe.latency_ms,
        "recorded": plan.recorded,
    }


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot write the report: {exc.strerror or type(exc).__name__}", source=str(path)
        ) from None
