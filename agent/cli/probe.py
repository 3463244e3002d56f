"""``agent probe MODEL...``: the check battery against each model, verdicts as a table, stored for runs."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from contextlib import nullcontext
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.cli.common import run_command, warn
from agent.cli.exit_codes import EXIT_OK
from agent.cli.options import split_values
from agent.cli.style import styled
from agent.cli.tables import format_cost, format_duration, markdown_table, text_table, write_table
from agent.cli.terminal import json_safe
from agent.errors import ConfigError
from agent.options import OutputOptions

if TYPE_CHECKING:
    from agent.core.probing import EndpointProbe, ProbePlan, ProvidersPlan
    from agent.models.probe import Check, CheckResult, ModelProbe

__all__ = ["execute", "probe_lines", "provider_lines"]


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


def _check_names(probes: Sequence[ModelProbe]) -> list[str]:
    from agent.models.probe import CHECKS

    return [c.check for c in probes[0].checks] if probes else [c.name for c in CHECKS]


def _headers(probes: Sequence[ModelProbe]) -> list[str]:
    return ["MODEL", *_check_names(probes), "PASSED", "COST", "TIME"]


def _notes(probe: ModelProbe) -> list[tuple[str, str, str]]:
    """(checks, verdict, detail) for every check that did not pass; equal neighbours grouped."""
    notes = []
    others = [c for c in probe.checks if c.verdict != "pass"]
    for (verdict, detail), group in groupby(others, key=lambda c: (c.verdict, c.detail)):
        notes.append((", ".join(c.check for c in group), verdict, detail))
    return notes


def probe_lines(probes: Sequence[ModelProbe]) -> list[str]:
    """The table on stdout: models x checks, then one line per check that did not pass."""
    headers = _headers(probes)
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

    headers = _headers(probes)
    right = {len(headers) - 3, len(headers) - 2, len(headers) - 1}
    lines = ["# agent probe", "", *markdown_table(headers, [_cells(p) for p in probes], right=right), ""]
    names = _check_names(probes)
    lines += ["Checks:", ""] + [f"- `{c.name}`: {c.title}" for c in CHECKS if c.name in names]
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
    from agent.models.probe import select_checks
    from agent.options import parse_options

    models = list(dict.fromkeys(m.strip() for m in own["model_ids"]))
    if not models or "" in models:
        raise ConfigError("give one or more model ids", source="MODEL")
    names = [n.strip() for n in (own["checks"] or "").split(",") if n.strip()]
    checks = select_checks(names, native_only=own["providers"])
    options = parse_options({**agent_values, "model": models[0], "no_servers": True}, as_flags=True)
    settle_project_trust(interactive=not output.json_output)
    if own["providers"]:
        return await _providers(options, models, checks, output, own)
    live = _LiveProbe(models, checks) if styled(sys.stderr) else None
    async with Agent(options) as agent:
        with live.board if live is not None else nullcontext():
            plans, note = await probe_models(
                agent,
                models,
                concurrency=own["concurrency"],
                check_timeout=own["check_timeout"],
                on_done=_done if live is None else live.done,
                checks=checks,
                on_start=None if live is None else live.start,
                on_check=None if live is None else live.check,
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
        write_table(probe_lines(probes))
    if own["markdown"] is not None:
        _write(own["markdown"], "\n".join(markdown_lines(probes)))
    if all(p.errored for p in probes):
        codes = {p.exit_code for p in probes}
        return codes.pop() if len(codes) == 1 else 1
    return EXIT_OK


class _LiveProbe:
    """The live table at a terminal: a row per model (or per model and provider), filled in check by check.

    The checks of a row are one cell, a coloured character each (``✓✓✗-···``), so the table fits
    the terminal; the final table on stdout has a column per check.
    """

    def __init__(self, models: Sequence[str], checks: Sequence[Check], *, providers: bool = False) -> None:
        from agent.cli.boards import Board

        self.total = len(checks)
        self.verdicts: dict[str, list[str]] = {}
        head = ["MODEL", "PROVIDER", "QUANT"] if providers else ["MODEL"]
        self.column = len(head)
        """The column of the checks."""
        headers = [*head, "CHECKS", "VERDICT" if providers else "PASSED", "COST", "TIME"]
        right = {len(headers) - 1, len(headers) - 2, len(headers) - 3}
        legend = [
            "checks: " + " ".join(c.name for c in checks),
            "✓ pass  ✗ fail  ! error  - skipped  · to come",
        ]
        self.board = Board(sys.stderr, headers, right=right, notes=legend)
        if not providers:
            for model in models:
                self.board.add(model, model)

    def start(self, plan: ProbePlan) -> None:
        self._start(plan.model, plan.model)

    def _start(self, key: str, model: str) -> None:
        from agent.cli.boards import verdict_symbols

        self.board.start(key, model)
        self.verdicts[key] = []
        self.board.set(key, self.column, verdict_symbols([], self.total))

    def check(self, plan: ProbePlan, result: CheckResult) -> None:
        self._check(plan.model, result)

    def _check(self, key: str, result: CheckResult) -> None:
        from agent.cli.boards import verdict_symbols

        verdicts = self.verdicts.setdefault(key, [])
        verdicts.append(result.verdict)
        self.board.set(key, self.column, verdict_symbols(verdicts, self.total))

    def _finish(self, key: str, cells: list[str], probe: ModelProbe | None) -> None:
        from agent.cli.boards import verdict_symbols

        checks = verdict_symbols([c.verdict for c in probe.checks], self.total) if probe else "-"
        first, rest = cells[: self.column], cells[self.column + self.total :]
        self.board.finish(key, [*first, checks, *rest])

    def done(self, plan: ProbePlan) -> None:
        assert plan.probe is not None
        self._finish(plan.model, _cells(plan.probe), plan.probe)

    def endpoint_start(self, plan: ProvidersPlan, row: EndpointProbe) -> None:
        key = f"{plan.model} @ {row.endpoint.slug}"
        self._start(key, plan.model)
        self.board.set(key, 1, row.endpoint.slug)
        self.board.set(key, 2, row.endpoint.quantization or "-")

    def endpoint_check(self, plan: ProvidersPlan, row: EndpointProbe, result: CheckResult) -> None:
        self._check(f"{plan.model} @ {row.endpoint.slug}", result)

    def endpoint_done(self, plan: ProvidersPlan, row: EndpointProbe) -> None:
        cells = _provider_cells(plan, row, self.total)
        self._finish(f"{plan.model} @ {row.endpoint.slug}", cells, row.probe)


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


# -- per provider (--providers) ----------------------------------------------------------------

_VERDICTS = {"pass": "pass", "fail": "fail", "error": "error", "no_tools": "no tools"}


def provider_lines(
    plans: Sequence[ProvidersPlan], checks: Sequence[Check], *, markdown: bool = False
) -> list[str]:
    """The table on stdout: one row per provider endpoint, then why checks did not pass."""
    headers = ["MODEL", "PROVIDER", "QUANT", *(c.name for c in checks), "VERDICT", "COST", "TIME"]
    rows = [_provider_cells(plan, row, len(checks)) for plan in plans for row in plan.endpoints]
    right = {len(headers) - 2, len(headers) - 1}
    lines = (markdown_table if markdown else text_table)(headers, rows, right=right)
    for plan in plans:
        for row in plan.endpoints:
            notes = _notes(row.probe) if row.probe else []
            if not notes:
                continue
            where = f"{plan.model} @ {row.endpoint.slug}"
            if markdown:
                lines += ["", f"## {where}", ""]
                lines += [f"- {names}: **{verdict}**: {detail}" for names, verdict, detail in notes]
            else:
                lines += ["", f"{where}:"]
                lines += [f"  {names}: {verdict}: {detail}" for names, verdict, detail in notes]
    return lines


def _provider_cells(plan: ProvidersPlan, row: EndpointProbe, checks: int) -> list[str]:
    """One provider endpoint's row: model, provider, quantization, verdicts, cost, time."""
    probe, endpoint = row.probe, row.endpoint
    cells = [c.verdict for c in probe.checks] if probe else ["-"] * checks
    return [
        plan.model,
        endpoint.slug,
        endpoint.quantization or "-",
        *cells,
        _VERDICTS[row.verdict],
        format_cost(probe.cost) if probe else "-",
        format_duration(probe.latency_ms) if probe else "-",
    ]


async def _providers(
    options: Any, models: list[str], checks: Sequence[Check], output: OutputOptions, own: dict[str, Any]
) -> int:
    from agent.core.agent import Agent
    from agent.core.probing import probe_providers
    from agent.core.provider_verdicts import ranked

    live = _LiveProbe(models, checks, providers=True) if styled(sys.stderr) else None
    async with Agent(options) as agent:
        with live.board if live is not None else nullcontext():
            plans, note = await probe_providers(
                agent,
                models,
                checks=checks,
                concurrency=own["concurrency"],
                check_timeout=own["check_timeout"],
                on_done=_endpoint_done if live is None else live.endpoint_done,
                on_start=None if live is None else live.endpoint_start,
                on_check=None if live is None else live.endpoint_check,
            )
    if note:
        warn(note)
    for plan in plans:
        if plan.error is not None:
            warn(f"{plan.model}: {plan.error}", level="error")
        elif not plan.endpoints:
            warn(f"{plan.model}: OpenRouter lists no provider endpoint for {plan.listed_as}")
        if plan.store_error:
            warn(f"could not store the verdicts for {plan.model}: {plan.store_error}")
        elif plan.verdicts:
            passed, failed = ranked(plan.verdicts)
            if passed:
                avoid = f"; avoiding {', '.join(failed)}" if failed else ""
                warn(f"{plan.model}: runs will prefer {', '.join(passed)}{avoid}", level="info")
            else:
                warn(f"{plan.model}: no provider passed every check; runs are routed as usual")
    if output.json_output:
        sys.stdout.write(json_safe(json.dumps([_provider_json(p) for p in plans], ensure_ascii=False)) + "\n")
    elif any(plan.endpoints for plan in plans):
        write_table(provider_lines(plans, checks))
    if own["markdown"] is not None:
        report = ["# agent probe --providers", "", *provider_lines(plans, checks, markdown=True), ""]
        _write(own["markdown"], "\n".join(report))
    return _providers_exit(plans)


def _providers_exit(plans: Sequence[ProvidersPlan]) -> int:
    """0 when some endpoint reached a verdict or none needed probing; else the first error's code."""
    rows = [row for plan in plans for row in plan.endpoints]
    if any(row.verdict in ("pass", "fail", "no_tools") for row in rows):
        return EXIT_OK
    for plan in plans:
        if plan.error is not None:
            return plan.error.exit_code
    probes = [row.probe for row in rows if row.probe is not None]
    return probes[0].exit_code if probes else 1


def _endpoint_done(plan: ProvidersPlan, row: EndpointProbe) -> None:
    assert row.probe is not None
    counts = {v: sum(c.verdict == v for c in row.probe.checks) for v in ("pass", "fail", "error", "skip")}
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    took = format_duration(row.seconds * 1000)
    warn(f"{plan.model} @ {row.endpoint.slug}: {summary} ({took})", level="info")


def _provider_json(plan: ProvidersPlan) -> dict[str, Any]:
    error = plan.error
    return {
        "model": plan.model,
        "listed_as": plan.listed_as,
        "error": {"type": error.type_name, "message": str(error)} if error is not None else None,
        "recorded": plan.recorded,
        "providers": [
            {
                "provider": row.endpoint.label,
                "tag": row.endpoint.slug,
                "quantization": row.endpoint.quantization,
                "context_length": row.endpoint.context_length,
                "status": row.endpoint.status,
                "uptime_last_30m": row.endpoint.uptime_last_30m,
                "pricing": row.endpoint.pricing.model_dump(mode="json") if row.endpoint.pricing else None,
                "supports_tools": row.endpoint.supports_tools,
                "verdict": row.verdict,
                "checks": [c.model_dump(mode="json") for c in row.probe.checks] if row.probe else [],
                "cost": row.probe.cost if row.probe else None,
                "latency_ms": row.probe.latency_ms if row.probe else None,
            }
            for row in plan.endpoints
        ],
    }
