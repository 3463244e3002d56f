"""``agent batch`` against its floor: durable batches vs the same batch in a plain asyncio pool.

1,000 tasks of two model turns each (``bench-k1``: one ``add`` call, then the answer) against
the fake LLM with a fixed latency per request (300 ms), ``--concurrency 50``. The ideal is
``tasks * 2 * latency / concurrency`` (12 s); the target is 1.15x the ideal, on SQLite and on
Postgres. The durability overhead per task is (durable - ``--no-durable``) / tasks * concurrency
(the extra time a slot spends per task). Each run is checked: every task completed, one line
each, and the fake LLM saw exactly two requests per task.

The durable batches run again with ``--workers N`` (default: one process per core).

Also the done-when check at the 200-task scale (``--kill``): a durable batch killed with
``kill -9`` about half-way and carried on ends with every line, each task's first request seen
once, or twice for the tasks in flight at the kill (at most ``--concurrency`` of them).

::

    .venv/bin/python -m benchmarks.batch_bench                     # SQLite, durable and plain
    .venv/bin/python -m benchmarks.batch_bench --postgres URL      # also on Postgres
    .venv/bin/python -m benchmarks.batch_bench --tasks 200 --kill  # the kill -9 check

The time is the batch's own (``duration_s`` of ``--json``: from start-up done to the last line
written); the whole process's wall time is reported next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.fake_llm import FakeLLM

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
AGENT = str(Path(PYTHON).parent / "agent")
SERVER = shlex.join([PYTHON, str(HERE / "mcp_server.py")])


class SlowLLM(FakeLLM):
    """The fake LLM, answering each chat request after ``latency`` seconds; counts first requests."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency
        self.firsts: Counter[str] = Counter()

    async def _chat(self, writer: asyncio.StreamWriter, raw: bytes) -> None:
        body = json.loads(raw)
        messages = body.get("messages") or []
        if not any(m.get("role") == "tool" for m in messages):
            task = next((m.get("content") for m in messages if m.get("role") == "user"), "")
            self.firsts[str(task)] += 1
        await asyncio.sleep(self.latency)
        await super()._chat(writer, raw)

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """``GET /firsts`` (first requests per task), else as the fake LLM."""
        line = await reader.readline()
        if not line:
            return False
        if line.startswith(b"GET /firsts"):
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            self._send(writer, 200, json.dumps(self.firsts).encode())
            await writer.drain()
            return True
        if line.startswith(b"POST /reset"):
            self.firsts.clear()
        return await super()._one_request(_Replayed(line, reader), writer)  # type: ignore[arg-type]


class _Replayed:
    """A stream reader whose first line was already read (and is given back first)."""

    def __init__(self, first: bytes, reader: asyncio.StreamReader) -> None:
        self.first: bytes | None = first
        self.reader = reader

    async def readline(self) -> bytes:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        return await self.reader.readline()

    async def readexactly(self, n: int) -> bytes:
        return await self.reader.readexactly(n)


async def _serve(latency: float) -> None:
    fake = SlowLLM(latency)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0, backlog=1024)
    sys.stdout.write(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1\n")
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


def _get(base_url: str, path: str) -> Any:
    with urllib.request.urlopen(base_url.removesuffix("/v1") + path, timeout=10) as response:
        return json.loads(response.read())


def _post(base_url: str, path: str) -> None:
    request = urllib.request.Request(base_url.removesuffix("/v1") + path, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


class Sitting:
    """The fake LLM in a process of its own, and a clean home for the agent."""

    def __init__(self, latency: float, home: Path) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "benchmarks.batch_bench", "--serve", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=HERE.parent,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        self.home = home
        (home / "config").mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER_", "AGENT_"))}
        env.update(
            OPENROUTER_BASE_URL=self.base_url,
            OPENROUTER_API_KEY="sk-bench-dummy",
            AGENT_CONFIG_DIR=str(home / "config"),
            AGENT_CACHE_DIR=str(home / "cache"),
            AGENT_DATA_DIR=str(home / "data"),
            HOME=str(home),
        )
        self.env = env

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def command(self, tasks: Path, results: Path, concurrency: int, extra: list[str]) -> list[str]:
        return [
            AGENT,
            "batch",
            "run",
            str(tasks),
            "-o",
            str(results),
            "-m",
            "bench-k1",
            "-s",
            SERVER,
            "--concurrency",
            str(concurrency),
            "--json",
            *extra,
        ]

    def run(self, name: str, tasks: int, concurrency: int, extra: list[str]) -> dict[str, Any]:
        """One whole batch; checked; its figures."""
        workdir = Path(tempfile.mkdtemp(prefix=f"batch-{name}-", dir=self.home))
        task_file = workdir / "tasks.jsonl"
        task_file.write_text(
            "".join(json.dumps({"id": i, "prompt": f"task {i}"}) + "\n" for i in range(tasks))
        )
        _post(self.base_url, "/reset")
        started = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(
            self.command(task_file, workdir / "out.jsonl", concurrency, extra),
            env=self.env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise SystemExit(f"{name}: exit {proc.returncode}: {proc.stderr.strip()[-800:]}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        lines = (workdir / "out.jsonl").read_text().splitlines()
        stats = _get(self.base_url, "/stats")
        if summary["completed"] != tasks or len(lines) != tasks or stats["requests"] != 2 * tasks:
            raise SystemExit(f"{name}: {summary}, {len(lines)} lines, {stats['requests']} requests")
        return {
            "name": name,
            "batch_s": summary["duration_s"],
            "wall_s": round(wall, 2),
            "cpu_ms_per_task": round(cpu / tasks * 1000, 1),
        }

    def kill_and_resume(self, tasks: int, concurrency: int, extra: list[str]) -> dict[str, Any]:
        """Kill a durable batch half-way with SIGKILL, run the same command again, check every task."""
        workdir = Path(tempfile.mkdtemp(prefix="batch-kill-", dir=self.home))
        task_file, results = workdir / "tasks.jsonl", workdir / "out.jsonl"
        task_file.write_text(
            "".join(json.dumps({"id": i, "prompt": f"task {i}"}) + "\n" for i in range(tasks))
        )
        _post(self.base_url, "/reset")
        command = self.command(task_file, results, concurrency, extra)
        proc = subprocess.Popen(
            command, env=self.env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        while proc.poll() is None:
            done = len(results.read_text().splitlines()) if results.exists() else 0
            if done >= tasks // 2:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.05)
        proc.wait()
        at_kill = len(results.read_text().splitlines())
        again = subprocess.run(
            command, env=self.env, cwd=workdir, capture_output=True, text=True, timeout=600
        )
        lines = [json.loads(line) for line in results.read_text().splitlines()]
        firsts = _get(self.base_url, "/firsts")
        twice = sum(1 for count in firsts.values() if count == 2)
        worse = sum(1 for count in firsts.values() if count > 2)
        ok = (
            again.returncode == 0
            and len(lines) == tasks
            and len({line["id"] for line in lines}) == tasks
            and len(firsts) == tasks
            and worse == 0
            and twice <= concurrency
        )
        return {"killed_at_lines": at_kill, "lines": len(lines), "first_requests_twice": twice, "ok": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--postgres", metavar="URL", help="also run on this Postgres database")
    parser.add_argument("--kill", action="store_true", help="the kill -9 and carry-on check instead")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="also run the durable batches with this many processes (default: one per core)",
    )
    args = parser.parse_args()
    if args.serve is not None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(args.serve))
        return
    ideal = args.tasks * 2 * args.latency / args.concurrency
    with tempfile.TemporaryDirectory(prefix="agent-batch-bench-") as tmp:
        sitting = Sitting(args.latency, Path(tmp))
        try:
            if args.kill:
                print(json.dumps(sitting.kill_and_resume(args.tasks, args.concurrency, [])))
                return
            rows = [sitting.run("plain", args.tasks, args.concurrency, ["--no-durable"])]
            workers = ["--workers", str(args.workers)]
            rows.append(sitting.run("sqlite", args.tasks, args.concurrency, []))
            if args.workers > 1:
                rows.append(sitting.run(f"sqlite w{args.workers}", args.tasks, args.concurrency, workers))
            if args.postgres:
                postgres = ["--database-url", args.postgres]
                rows.append(sitting.run("postgres", args.tasks, args.concurrency, postgres))
                if args.workers > 1:
                    name = f"pg w{args.workers}"
                    rows.append(sitting.run(name, args.tasks, args.concurrency, [*postgres, *workers]))
        finally:
            sitting.close()
    plain = rows[0]["batch_s"]
    shape = f"{args.tasks} tasks x 2 x {args.latency} s / {args.concurrency}"
    print(f"ideal {ideal:.2f} s ({shape}); target <= {1.15 * ideal:.2f} s")
    for row in rows:
        ratio = row["batch_s"] / ideal
        overhead = (row["batch_s"] - plain) / args.tasks * args.concurrency * 1000
        print(
            f"{row['name']:9} batch {row['batch_s']:6.2f} s ({ratio:.2f}x ideal, "
            f"{'met' if ratio <= 1.15 else 'NOT met'})  wall {row['wall_s']:6.2f} s  "
            f"overhead vs plain {overhead:+.0f} ms per task per slot  "
            f"CPU {row['cpu_ms_per_task']} ms per task (agent process and its MCP server)"
        )


if __name__ == "__main__":
    main()
