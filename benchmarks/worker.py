"""One benchmark process for one client: in-process runs, concurrent runs, or a profile.

``python -m benchmarks.worker --client project --base-url URL --scenario inproc --plan '{...}'``
prints one JSON object of samples on stdout. Every run is checked against the fake LLM's
counters (requests, tool results, wrong results, final answers) and its own outcome; a run
that does not add up stops the worker with one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import sys
import time
from typing import Any

import anyio
import httpx

from benchmarks.clients import CLIENTS, FloorClient, Outcome, ProjectClient, make_client
from benchmarks.fake_llm import FINAL_PREFIX

IN_PROCESS_PLAN = {"warmup": 1, "k50": 5, "k5": 10, "parallel": 3}


class CheckFailed(Exception):
    """A run did not do what the script asked."""


def expected(model: str) -> tuple[int, int]:
    """(LLM requests, tool results) one run of ``model`` makes."""
    if model.startswith("bench-k"):
        k = int(model.removeprefix("bench-k"))
        return k + 1, k
    count = int(model.removeprefix("bench-parallel-").split("-")[0])
    return 2, count


class Checker:
    """Reads the fake server's counters around runs and compares them with what was expected."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.removesuffix("/v1") + "/stats"
        self.checked = 0
        self.connections: dict[str, list[int]] = {}

    async def __aenter__(self) -> Checker:
        self.http = httpx.AsyncClient(limits=httpx.Limits(keepalive_expiry=3600))
        self.before = await self.stats()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def stats(self) -> dict[str, int]:
        response = await self.http.get(self.url)
        counters: dict[str, int] = response.json()
        return counters

    async def check(self, model: str, outcomes: list[Outcome], *, stream: bool) -> None:
        after = await self.stats()
        diff = {key: after[key] - self.before[key] for key in after}
        self.before = after
        key = f"{model} stream" if stream else model
        self.connections.setdefault(key, []).append(diff["connections"])
        requests, results = expected(model)
        runs = len(outcomes)
        want = {
            "requests": requests * runs,
            "tool_results": results * runs,
            "finals": runs,
            "errors": 0,
            "bad_results": 0,
            "stream_requests": requests * runs if stream else 0,
        }
        got = {key: diff[key] for key in want}
        if got != want:
            raise CheckFailed(f"{model} (stream={stream}, runs={runs}): fake LLM saw {got}, expected {want}")
        for outcome in outcomes:
            if outcome.turns != requests or outcome.tool_results != results:
                raise CheckFailed(
                    f"{model}: run reported {outcome}, expected {requests} turns, {results} results"
                )
            if not outcome.output.startswith(FINAL_PREFIX):
                raise CheckFailed(f"{model}: final answer not reached, got {outcome.output!r}")
        self.checked += runs


async def timed(
    client: FloorClient | ProjectClient, checker: Checker, model: str, stream: bool = False
) -> float:
    """One checked run; wall time in ms."""
    started = time.perf_counter()
    outcome = await client.run(model, stream=stream)
    elapsed = (time.perf_counter() - started) * 1000
    await checker.check(model, [outcome], stream=stream)
    return elapsed


async def in_process(
    client: FloorClient | ProjectClient, checker: Checker, plan: dict[str, int]
) -> dict[str, Any]:
    """Warm-up, then K=50, K=5 plain and streamed (alternating), and 8 parallel sleeps."""
    for _ in range(plan["warmup"]):
        await timed(client, checker, "bench-k50")
        await timed(client, checker, "bench-k5", stream=True)
        await timed(client, checker, "bench-parallel-8")
    samples: dict[str, list[float]] = {"k50_ms": [], "k5_ms": [], "k5_stream_ms": [], "parallel8_ms": []}
    for _ in range(plan["k50"]):
        samples["k50_ms"].append(await timed(client, checker, "bench-k50"))
    for _ in range(plan["k5"]):
        samples["k5_ms"].append(await timed(client, checker, "bench-k5"))
        samples["k5_stream_ms"].append(await timed(client, checker, "bench-k5", stream=True))
    for _ in range(plan["parallel"]):
        samples["parallel8_ms"].append(await timed(client, checker, "bench-parallel-8"))
    return samples


async def concurrent(
    client: FloorClient | ProjectClient, checker: Checker, runs: int, k: int
) -> dict[str, Any]:
    """``runs`` K-turn runs at once in this process (after one warm-up run)."""
    model = f"bench-k{k}"
    await timed(client, checker, model)
    outcomes: list[Outcome] = []

    async def one() -> None:
        outcomes.append(await client.run(model))

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(runs):
            tg.start_soon(one)
    elapsed = time.perf_counter() - started
    await checker.check(model, outcomes, stream=False)
    return {"runs": runs, "k": k, "seconds": elapsed, "runs_per_s": runs / elapsed}


async def profile(client: FloorClient | ProjectClient, checker: Checker, top: int) -> str:
    """cProfile one K=50 run after a warm-up run; the report sorted by cumulative and own time."""
    await timed(client, checker, "bench-k50")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    outcome = await client.run("bench-k50")
    profiler.disable()
    elapsed = (time.perf_counter() - started) * 1000
    await checker.check("bench-k50", [outcome], stream=False)
    out = io.StringIO()
    out.write(f"K=50 run under cProfile: {elapsed:.0f} ms wall\n")
    stats = pstats.Stats(profiler, stream=out).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(15)
    return out.getvalue()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    async with Checker(args.base_url) as checker, make_client(args.client, args.base_url) as client:
        if args.scenario == "inproc":
            result: dict[str, Any] = await in_process(
                client, checker, {**IN_PROCESS_PLAN, **json.loads(args.plan)}
            )
        elif args.scenario == "concurrent":
            result = await concurrent(client, checker, args.runs, args.k)
        else:
            result = {"profile": await profile(client, checker, args.top)}
        result["checked_runs"] = checker.checked
        result["connections"] = checker.connections
    result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="One benchmark process for one client.")
    parser.add_argument("--client", choices=CLIENTS, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--scenario", choices=("inproc", "concurrent", "profile"), default="inproc")
    parser.add_argument("--plan", default="{}", help="JSON overrides of the in-process run counts")
    parser.add_argument("--runs", type=int, default=100, help="concurrent runs")
    parser.add_argument("-k", type=int, default=5, help="turns per concurrent run")
    parser.add_argument("--top", type=int, default=25, help="profile entries to print")
    args = parser.parse_args()
    try:
        result = anyio.run(main_async, args)
    except CheckFailed as exc:
        sys.stderr.write(f"sanity check failed: {exc}\n")
        raise SystemExit(1) from None
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
