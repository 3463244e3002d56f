"""Turn pooled samples into the Markdown report: medians (min to max), ratios to the floor, targets."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

Samples = dict[str, dict[str, list[float]]]
"""metric -> client -> samples, pooled over passes."""

TIMES, DASH, MINUS = "\u00d7", "\u2013", "\u2212"
"""Typographic signs for the Markdown (written as escapes to keep the source ASCII-unambiguous)."""


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    label: str
    metric: str
    target: float | None = None
    digits: int = 1
    higher_is_better: bool = False


ROWS = (
    Row("cold start, whole process doing one K=1 run, ms", "cold_ms", 0.9, 0),
    Row("per-turn @K=5, ms (K=5 run ÷ 5)", "turn5_ms", None, 2),
    Row("per-turn @K=50, ms (K=50 run ÷ 50)", "turn50_ms", 1.3, 2),
    Row(f"8 {TIMES} sleep(200 ms) in one turn, whole run, ms", "parallel8_ms", 1.05, 0),
    Row("K=5 run, plain, ms", "k5_ms", None, 1),
    Row("K=5 run, stream, ms", "k5_stream_ms", None, 1),
    Row("peak RSS, fresh process doing one K=50 run, MiB", "rss_mib", 1.1, 0),
    Row("100 concurrent K=5 runs in one process, runs/s", "concurrent_runs_per_s", None, 0, True),
    Row("100 concurrent K=5 runs, peak RSS, MiB", "concurrent_rss_mib", None, 0),
)
CLIENTS = ("floor", "project")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt(values: list[float], digits: int) -> str:
    if not values:
        return "n/a"
    m = median(values)
    if len(values) == 1:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ({min(values):.{digits}f}{DASH}{max(values):.{digits}f})"


def _verdict(ratio: float, target: float | None, higher_is_better: bool = False) -> str:
    if target is None:
        return ""
    ok = ratio >= target if higher_is_better else ratio <= target
    return "yes" if ok else "**no**"


def results_table(samples: Samples) -> list[str]:
    """The main table: one row per metric, floor vs project."""
    lines = [
        "| metric | floor | project | project ÷ floor | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        by_client = samples.get(row.metric, {})
        floor, project = by_client.get("floor", []), by_client.get("project", [])
        ratio = median(project) / median(floor) if floor and project else float("nan")
        target = f"≤ {row.target}{TIMES}" if row.target is not None else ""
        better = " (higher is better)" if row.higher_is_better else ""
        lines.append(
            f"| {row.label} | {fmt(floor, row.digits)} | {fmt(project, row.digits)} "
            f"| {ratio:.2f}{TIMES}{better} | {target} | {_verdict(ratio, row.target)} |"
        )
    growth = {c: median(samples["turn50_ms"][c]) / median(samples["turn5_ms"][c]) for c in CLIENTS}
    lines.append(
        f"| per-turn growth, @K=50 ÷ @K=5 (each client's own) | {growth['floor']:.2f} "
        f"| {growth['project']:.2f} | | ≤ 1.2 (project) | {_verdict(growth['project'], 1.2)} |"
    )
    per_request = {c: (median(samples["k5_stream_ms"][c]) - median(samples["k5_ms"][c])) / 6 for c in CLIENTS}
    lines.append(
        f"| streaming cost per request, ms ((stream {MINUS} plain) ÷ 6) | {per_request['floor']:.2f} "
        f"| {per_request['project']:.2f} | | | |"
    )
    conns = samples.get("stream_connections", {})
    if conns:
        lines.append(
            f"| new HTTP connections per streamed K=5 run (6 requests) | {fmt(conns.get('floor', []), 0)} "
            f"| {fmt(conns.get('project', []), 0)} | | | |"
        )
    return lines


def help_lines(samples: Samples, imports: dict[str, bool]) -> list[str]:
    """``agent --help`` against a bare interpreter, and what it imported."""
    imported = ", ".join(f"`{name}` {'yes' if flag else 'no'}" for name, flag in imports.items())
    return [
        f"- `agent --help`: {fmt(samples['help_ms']['project'], 0)} ms wall; "
        f"`python -c pass`: {fmt(samples['help_ms']['python'], 0)} ms. Imported by `--help`: {imported}."
    ]


def spread_table(per_pass: list[dict[str, dict[str, list[float]]]]) -> list[str]:
    """The median of each pass separately, to show how much a whole pass moves."""
    metrics = [("cold start, ms", "cold_ms", 0), ("per-turn @K=50, ms", "turn50_ms", 2)]
    metrics += [("per-turn @K=5, ms", "turn5_ms", 2), ("parallel, ms", "parallel8_ms", 0)]
    lines = ["| client | " + " | ".join(label for label, _, _ in metrics) + " |"]
    lines.append("|---" * (len(metrics) + 1) + "|")
    for client in CLIENTS:
        cells = []
        for _, metric, digits in metrics:
            cells.append(" / ".join(f"{median(p[metric][client]):.{digits}f}" for p in per_pass))
        lines.append(f"| {client} | " + " | ".join(cells) + " |")
    return lines


def pool(per_pass: list[dict[str, dict[str, list[float]]]]) -> Samples:
    """Pool every pass's samples per metric and client."""
    pooled: Samples = {}
    for one in per_pass:
        for metric, by_client in one.items():
            for client, values in by_client.items():
                pooled.setdefault(metric, {}).setdefault(client, []).extend(values)
    return pooled


def render(
    meta: dict[str, Any], per_pass: list[dict[str, dict[str, list[float]]]], imports: dict[str, bool]
) -> str:
    """The whole Markdown report."""
    samples = pool(per_pass)
    lines = [f"# Benchmark: agent vs the hand-written floor ({meta['started']})", ""]
    lines += [f"{meta['setup']}", "", *results_table(samples), ""]
    lines += help_lines(samples, imports)
    lines += ["", "Pass-to-pass spread (median of each pass):", "", *spread_table(per_pass), ""]
    lines += [f"- {note}" for note in meta["notes"]]
    return "\n".join(lines) + "\n"
