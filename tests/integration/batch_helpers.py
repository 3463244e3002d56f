"""What the ``agent batch`` tests share: a model that takes two turns per task, and the command lines."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.integration.cli_helpers import AGENT, Completed, agent_env
from tests.loopback import ScriptedOpenRouter, call, delayed, error, last_tool_result, reply
from tests.loopback.steps import Step

MODEL = "openai/gpt-4o-mini"


class TwoTurns:
    """Each task: a ``calc`` call for ``N+1`` (the task is ``task N``), then an answer quoting it.

    Counts each task's first request (the one without a tool result): a task run again from
    the start asks it again. ``fail_first`` tasks answer their first request with a 400 once.
    """

    def __init__(
        self, delay: float = 0.0, fail_first: tuple[str, ...] = (), hold_from: int | None = None
    ) -> None:
        self.delay = delay
        self.hold_from = hold_from
        self.gate = threading.Event()
        """With ``hold_from``: the first requests of tasks from that number on wait for it."""
        self.firsts: Counter[str] = Counter()
        self.models: Counter[str] = Counter()
        self.fail_first = set(fail_first)
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> Step:
        messages = request.get("messages") or []
        task = next((m.get("content") for m in messages if m.get("role") == "user"), "")
        tools = [t["function"]["name"] for t in request.get("tools") or []]
        step: Step
        if not any(m.get("role") == "tool" for m in messages):
            with self._lock:
                self.firsts[task] += 1
                self.models[str(request.get("model"))] += 1
                failing = task in self.fail_first
                self.fail_first.discard(task)
            if failing:
                return error(400, "the provider rejected the request")
            number = task.split()[-1] if task.split()[-1].isdigit() else "1"
            if self.hold_from is not None and int(number) >= self.hold_from:
                self.gate.wait(timeout=60)
            step = reply(None, call(tools[0], {"expression": f"{number}+1"}))
        else:
            step = reply(f"{task}: {last_tool_result(request)}")
        return delayed(self.delay, step) if self.delay else step

    def twice(self) -> list[str]:
        """Tasks whose first request came more than once."""
        return [task for task, count in self.firsts.items() if count > 1]


@contextmanager
def loopback(model: TwoTurns) -> Iterator[ScriptedOpenRouter]:
    with ScriptedOpenRouter(behaviours={None: model}, strict_history=False) as server:
        yield server


def write_tasks(path: Path, count: int, **fields: Any) -> Path:
    path.write_text(
        "".join(json.dumps({"id": f"t{i}", "prompt": f"task {i}", **fields}) + "\n" for i in range(count))
    )
    return path


def run_args(*extra: str, results: str = "r.jsonl", model: str | None = MODEL) -> tuple[str, ...]:
    """``run tasks.jsonl -o RESULTS -s calc -m MODEL EXTRA...``: the tests' batch, their flags added."""
    chosen = ("-m", model) if model is not None else ()
    return ("run", "tasks.jsonl", "-o", results, "-s", "calc", *chosen, *extra)


def batch_command(*args: str) -> list[str]:
    return [AGENT, "batch", *args]


def run_command(*args: str, env: dict[str, str], cwd: Path, timeout: float = 120) -> Completed:
    proc = subprocess.run(
        batch_command(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


STARTED: list[subprocess.Popen[str]] = []
"""The processes :func:`start` started in this test (:func:`reap` ends them after it)."""


def start(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        batch_command(*args), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    STARTED.append(proc)
    return proc


def reap() -> None:
    """Kill what :func:`start` started and is still running (a failed test), and close its pipes.

    A local worker (``--workers``) stops by itself once its parent is gone.
    """
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def lines_of(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for_lines(
    path: Path, count: int, proc: subprocess.Popen[str] | None = None, timeout: float = 180
) -> None:
    """Until the results file has ``count`` lines (the process must not end first).

    The timeout is generous: a loaded 2-core CI machine starts the batch's processes slowly.
    """
    deadline = time.monotonic() + timeout
    while len(lines_of_safely(path)) < count:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"the batch ended early ({proc.returncode}): {proc.stderr.read() if proc.stderr else ''}"
            )
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} has fewer than {count} lines after {timeout} s")
        time.sleep(0.05)


def lines_of_safely(path: Path) -> list[str]:
    """Whole lines only (a line being written has no newline yet)."""
    if not path.exists():
        return []
    text = path.read_text()
    return text[: text.rfind("\n") + 1].splitlines()


def batch_id_of(stderr: str) -> str:
    """The id the batch announced (``batch b... (resume with: ...)``)."""
    first = next(line for line in stderr.splitlines() if "resume with" in line)
    return first.split()[-1].rstrip(")")


def env_for(server: ScriptedOpenRouter, home: Path, **extra: str) -> dict[str, str]:
    return agent_env(server.base_url, home, **extra)
