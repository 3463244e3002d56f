"""Whole-process measurements: cold start (hyperfine), peak RSS, worker processes, ``agent --help``.

Every process gets the same environment: the fake LLM as ``OPENROUTER_BASE_URL``, a dummy key,
an empty ``AGENT_CONFIG_DIR``, an empty working directory, and bytecode caching on (into a
private ``PYTHONPYCACHEPREFIX``, so nothing is written into the checkout). Every whole-process
run is checked against the fake LLM's counters.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.clients import HERE, SERVER_ARGV
from benchmarks.fake_llm import FINAL_PREFIX
from benchmarks.worker import expected

PYTHON = sys.executable
AGENT = str(Path(PYTHON).parent / "agent")
REPO = HERE.parent
PYCACHE = Path(tempfile.gettempdir()) / "agent-bench-pycache"


class BenchError(Exception):
    """A measurement failed or did not add up; the message is one line."""


class Bench:
    """The fake LLM, the clean environment, and the measurements that start whole processes."""

    def __init__(self, base_url: str, workdir: Path) -> None:
        self.base_url = base_url
        self.cwd = workdir / "cwd"
        self.cwd.mkdir()
        (workdir / "config").mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "AGENT_"))}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            OPENROUTER_BASE_URL=base_url,
            OPENROUTER_API_KEY="sk-bench-dummy",
            AGENT_CONFIG_DIR=str(workdir / "config"),
            PYTHONPYCACHEPREFIX=str(PYCACHE),
        )
        self.env = env
        self.hyperfine = shutil.which("hyperfine")
        self._stats = self.stats()

    # -- the fake LLM's counters -------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        url = self.base_url.removesuffix("/v1") + "/stats"
        with urllib.request.urlopen(url, timeout=10) as response:
            counters: dict[str, int] = json.loads(response.read())
        return counters

    def check(self, what: str, model: str, runs: int) -> None:
        """The fake LLM saw exactly ``runs`` complete runs of ``model`` since the last check."""
        after = self.stats()
        diff = {key: after[key] - self._stats[key] for key in after}
        self._stats = after
        requests, results = expected(model)
        want = {"requests": requests * runs, "tool_results": results * runs, "finals": runs}
        want |= {"errors": 0, "bad_results": 0}
        got = {key: diff[key] for key in want}
        if got != want:
            raise BenchError(f"{what}: the fake LLM saw {got}, expected {want}")

    def resync(self) -> None:
        self._stats = self.stats()

    # -- command lines ---------------------------------------------------------------------------

    def command(self, client: str, model: str) -> list[str]:
        """The whole-process command line doing one run of ``model``."""
        server = shlex.join(SERVER_ARGV)
        if client == "floor":
            return [
                PYTHON,
                str(HERE / "floor.py"),
                "--base-url",
                self.base_url,
                "--model",
                model,
                "--server",
                server,
            ]
        return [
            AGENT,
            "run",
            "go",
            "-m",
            model,
            "--max-turns",
            "100",
            "--server",
            server,
            "--json",
            "--no-stream",
        ]

    def _run(
        self, argv: list[str], what: str, timeout: float = 300, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            argv,
            env=self.env,
            cwd=cwd or self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or ["(no stderr)"])[-1]
            raise BenchError(f"{what} exited with {proc.returncode}: {tail}")
        return proc

    def checked_run(self, client: str, model: str, argv: list[str] | None = None) -> float:
        """One whole-process run, its JSON output and the fake LLM's counters checked; wall ms."""
        started = time.perf_counter()
        proc = self._run(argv or self.command(client, model), f"{client} {model}")
        elapsed = (time.perf_counter() - started) * 1000
        try:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise BenchError(f"{client} {model}: no JSON result on stdout: {proc.stdout[:200]!r}") from None
        requests, _ = expected(model)
        if not str(result.get("output")).startswith(FINAL_PREFIX) or result.get("turns") != requests:
            raise BenchError(f"{client} {model}: unexpected result {json.dumps(result)[:200]}")
        if client == "project" and result.get("stop_reason") != "completed":
            raise BenchError(f"project {model}: stop_reason {result.get('stop_reason')}")
        self.check(f"{client} {model}", model, 1)
        return elapsed

    # -- measurements ----------------------------------------------------------------------------

    def time_command(self, argv: list[str], runs: int, warmup: int = 0) -> list[float]:
        """Wall times in ms: hyperfine -N when installed, else a subprocess timer."""
        if self.hyperfine:
            with tempfile.NamedTemporaryFile(suffix=".json") as export:
                hf = [self.hyperfine, "-N", "--style", "none", "--runs", str(runs), "--warmup", str(warmup)]
                self._run([*hf, "--export-json", export.name, shlex.join(argv)], f"hyperfine {argv[-1]}")
                data = json.loads(Path(export.name).read_text())
            return [t * 1000 for t in data["results"][0]["times"]]
        for _ in range(warmup):
            self._run(argv, argv[-1])
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            self._run(argv, argv[-1])
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    def cold_start(self, client: str, runs: int) -> list[float]:
        """Whole K=1 processes (one checked run first: warms the caches, proves the command works)."""
        self.checked_run(client, "bench-k1")
        samples = self.time_command(self.command(client, "bench-k1"), runs)
        self.check(f"{client} cold start", "bench-k1", runs)
        return samples

    def peak_rss(self, client: str) -> float:
        """MiB: ``ru_maxrss`` of a fresh process doing one K=50 run, its MCP server child left out."""
        with tempfile.NamedTemporaryFile(suffix=".rss") as out:
            wrapper = [PYTHON, str(HERE / "rss.py"), out.name]
            command = self.command(client, "bench-k50")
            target = command[1:] if client == "floor" else ["-m", "agent", *command[1:]]
            self.checked_run(client, "bench-k50", [*wrapper, *target])
            return int(Path(out.name).read_text()) / 1024

    def worker(self, client: str, scenario: str, *extra: str) -> dict[str, Any]:
        """A :mod:`benchmarks.worker` process; its JSON result (it checks its own runs)."""
        argv = [PYTHON, "-m", "benchmarks.worker", "--client", client, "--base-url", self.base_url]
        proc = self._run(
            [*argv, "--scenario", scenario, *extra], f"{client} {scenario} worker", timeout=900, cwd=REPO
        )
        self.resync()
        result: dict[str, Any] = json.loads(proc.stdout)
        return result

    def help_imports(self) -> dict[str, bool]:
        """Whether ``agent --help`` imported the MCP SDK or httpx (checked in a fresh process)."""
        code = (
            "import sys, runpy, json\nsys.argv = ['agent', '--help']\n"
            "try:\n    runpy.run_module('agent', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "names = ('mcp', 'mcp_types', 'httpx', 'pydantic')\n"
            "sys.stderr.write(json.dumps({m: m in sys.modules for m in names}))"
        )
        proc = subprocess.run(
            [PYTHON, "-c", code], env=self.env, cwd=self.cwd, capture_output=True, text=True, check=False
        )
        flags: dict[str, bool] = json.loads(proc.stderr.strip().splitlines()[-1])
        return flags
