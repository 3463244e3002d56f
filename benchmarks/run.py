"""Run the benchmarks: ``python -m benchmarks.run [--quick] [--passes N] [--profile]``.

Starts the fake LLM, then per pass measures every section for the floor and the project
(interleaved; the client order flips every other pass): cold start, in-process runs (K=50,
K=5 plain and streamed, 8 parallel sleeps), peak RSS, 100 concurrent runs, ``agent --help``.
Prints the Markdown table of medians and writes ``results/latest.json`` (raw samples) and
``results/latest.md``. ``--profile`` instead cProfiles one K=50 run (``results/profile-*.txt``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.clients import CLIENTS, HERE
from benchmarks.measure import AGENT, PYTHON, Bench, BenchError
from benchmarks.report import render

PLANS: dict[str, dict[str, Any]] = {
    "full": {
        "passes": 5,
        "cold_runs": 6,
        "inproc": {"warmup": 1, "k50": 5, "k5": 10, "parallel": 3},
        "concurrent": 100,
        "help_runs": 10,
    },
    "quick": {
        "passes": 1,
        "cold_runs": 2,
        "inproc": {"warmup": 1, "k50": 2, "k5": 3, "parallel": 1},
        "concurrent": 100,
        "help_runs": 3,
    },
}


def progress(text: str) -> None:
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def one_pass(bench: Bench, plan: dict[str, Any], order: tuple[str, ...]) -> dict[str, dict[str, list[float]]]:
    """Every section once, each for both clients in ``order``."""
    s: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for client in order:
        progress(f"  cold start: {client}")
        s["cold_ms"][client] += bench.cold_start(client, plan["cold_runs"])
    for client in order:
        progress(f"  in-process runs: {client}")
        w = bench.worker(client, "inproc", "--plan", json.dumps(plan["inproc"]))
        s["turn50_ms"][client] += [t / 50 for t in w["k50_ms"]]
        s["turn5_ms"][client] += [t / 5 for t in w["k5_ms"]]
        for metric in ("k5_ms", "k5_stream_ms", "parallel8_ms"):
            s[metric][client] += w[metric]
        s["stream_connections"][client] += w["connections"].get("bench-k5 stream", [])
    for client in order:
        progress(f"  peak RSS: {client}")
        s["rss_mib"][client].append(bench.peak_rss(client))
    for client in order:
        progress(f"  {plan['concurrent']} concurrent runs: {client}")
        w = bench.worker(client, "concurrent", "--runs", str(plan["concurrent"]), "-k", "5")
        s["concurrent_runs_per_s"][client].append(w["runs_per_s"])
        s["concurrent_rss_mib"][client].append(w["maxrss_mib"])
    progress("  agent --help")
    s["help_ms"]["project"] += bench.time_command([AGENT, "--help"], plan["help_runs"], warmup=1)
    s["help_ms"]["python"] += bench.time_command([PYTHON, "-c", "pass"], plan["help_runs"], warmup=1)
    return {metric: dict(by_client) for metric, by_client in s.items()}


def versions(bench: Bench) -> str:
    found = []
    for name in ("agent", "mcp", "httpx", "anyio", "pydantic"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    if bench.hyperfine:
        out = subprocess.run([bench.hyperfine, "--version"], capture_output=True, text=True, check=False)
        found.append(out.stdout.strip())
    return ", ".join(found)


def load() -> str:
    return Path("/proc/loadavg").read_text().strip() if Path("/proc/loadavg").exists() else "n/a"


def benchmark(bench: Bench, plan: dict[str, Any], out_dir: Path, mode: str) -> str:
    started, load_start, t0 = datetime.now().isoformat(timespec="seconds"), load(), time.perf_counter()
    progress("checking both clients end to end")
    for client in CLIENTS:
        bench.checked_run(client, "bench-k5")
    per_pass = []
    for number in range(plan["passes"]):
        order = CLIENTS if number % 2 == 0 else CLIENTS[::-1]
        progress(f"pass {number + 1}/{plan['passes']} ({' then '.join(order)})")
        per_pass.append(one_pass(bench, plan, order))
    imports = bench.help_imports()
    minutes = (time.perf_counter() - t0) / 60
    cold = "hyperfine -N" if bench.hyperfine else "a subprocess timer (hyperfine not installed)"
    meta = {
        "started": started,
        "mode": mode,
        "plan": plan,
        "setup": (
            f"{plan['passes']} interleaved pass(es) ({mode}; client order flipped every other pass; "
            f"samples pooled), {minutes:.1f} min. Host: {os.cpu_count()} CPUs, {platform.platform()}, Python "
            f"{platform.python_version()}; load average at start `{load_start}`, at end `{load()}`. "
            f"Versions: {versions(bench)}. Every number is `median (min\u2013max)`; every run was checked "
            "against the fake LLM's counters (requests, tool results and their values, final answer)."
        ),
        "notes": [
            f"cold start: {cold}, {plan['cold_runs']} runs per client per pass after one checked run: "
            "`python benchmarks/floor.py ... --model bench-k1` vs `agent run go -m bench-k1 --server "
            '"<python> benchmarks/mcp_server.py" --json --no-stream` (imports, MCP server spawn + '
            "initialize, 2 LLM requests, 1 tool call, shutdown).",
            f"per-turn, parallel, K=5 plain/stream: one process per client per pass, after warm-up runs; "
            f"per pass {plan['inproc']}. Per-turn = run time ÷ K, nothing subtracted "
            "(K+1 requests, K tool calls).",
            "peak RSS: `ru_maxrss` (RUSAGE_SELF) of a fresh process doing one K=50 run via "
            "`benchmarks/rss.py`; the MCP server child is not counted.",
            f"concurrent: {plan['concurrent']} K=5 runs at once sharing one HTTP client and one MCP server "
            "connection, after one warm-up run; RSS is that process's peak.",
            "The MCP server (`benchmarks/mcp_server.py`, mcp SDK, same interpreter) and the fake LLM "
            "(`benchmarks/fake_llm.py`, 0 ms latency) share the machine's cores with the client.",
        ],
    }
    report = render(meta, per_pass, imports)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = {"meta": meta, "passes": per_pass, "help_imports": imports}
    (out_dir / "latest.json").write_text(json.dumps(raw, indent=1) + "\n")
    (out_dir / "latest.md").write_text(report)
    return report


def profile(bench: Bench, client: str, out_dir: Path, top: int) -> str:
    progress(f"profiling one K=50 {client} run (after a warm-up run)")
    result = bench.worker(client, "profile", "--top", str(top))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"profile-{client}.txt").write_text(result["profile"])
    return str(result["profile"])


def start_fake_llm() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [PYTHON, str(HERE / "fake_llm.py")], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise BenchError("the fake LLM server did not start")
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark the agent runtime against the hand-written floor."
    )
    parser.add_argument("--quick", action="store_true", help="one short pass (smoke run, under a minute)")
    parser.add_argument("--passes", type=int, help="number of interleaved passes (default: 5, quick: 1)")
    parser.add_argument("--profile", action="store_true", help="only cProfile one K=50 run (of the project)")
    parser.add_argument(
        "--profile-client", choices=CLIENTS, default="project", help="whose run --profile profiles"
    )
    parser.add_argument("--top", type=int, default=25, help="profile entries to print")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where latest.json/.md go")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    plan = dict(PLANS[mode])
    if args.passes is not None:
        plan["passes"] = max(1, args.passes)
    fake: subprocess.Popen[str] | None = None
    try:
        fake, url = start_fake_llm()
        with tempfile.TemporaryDirectory(prefix="agent-bench-") as tmp:
            bench = Bench(url, Path(tmp))
            text = (
                profile(bench, args.profile_client, args.out, args.top)
                if args.profile
                else benchmark(bench, plan, args.out, mode)
            )
        sys.stdout.write(text)
    except BenchError as exc:
        sys.stderr.write(f"benchmark failed: {exc}\n")
        raise SystemExit(1) from None
    finally:
        if fake is not None:
            fake.terminate()
            fake.wait(timeout=10)


if __name__ == "__main__":
    main()
