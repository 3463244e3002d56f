"""Run the MCP conformance suite's client scenarios against ``tests/conformance/client.py``.

``python -m tests.conformance.run_suite --requirements 2025-11-25 --requirements 2026-07-28``
runs, for each requirement set, exactly the client scenarios it requires (plus the unscored ones
the suite runs alongside), then reads every scenario's ``checks.json``. A scored scenario passes
when none of its checks failed or warned; the exit status is 1 when any scored scenario did not
pass (or left no results), 0 otherwise. Unscored scenarios (extensions) are reported, never counted.

Node 22 and the suite come from ``.ci/conformance`` (``npm ci`` there installs both).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.forking import start_zygote, stop_zygote

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / ".ci" / "conformance" / "node_modules" / ".bin"
LAUNCHER = ROOT / "tests" / "conformance" / "launch.py"
SCENARIO_TIMEOUT_MS = 120_000
"""Generous: the suite starts every scenario's client at once, and on two cores they queue."""
_BAD = ("FAILURE", "WARNING")
_STAMP = re.compile(r"-\d{4}-\d{2}-\d{2}T[\d-]+Z$")
"""The timestamp the suite appends to each scenario's result directory."""


@dataclass(frozen=True)
class Outcome:
    """How one scenario went: its checks, and the ones that failed or warned."""

    scenario: str
    scored: bool
    checks: int
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """True when the scenario left results and none of its checks failed or warned."""
        return self.checks > 0 and not self.problems


def available() -> bool:
    """Whether node 22 and the suite are installed in ``.ci/conformance``."""
    return (NODE_BIN / "conformance").exists() and (NODE_BIN / "node").exists()


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def scored_scenarios(requirements: str) -> list[str]:
    """The client scenarios the requirement set scores, as the suite lists them."""
    listing = subprocess.run(
        ["conformance", "list", "--client", "--requirements", requirements],
        env=_environment(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names: list[str] = []
    inside = False
    for line in listing.splitlines():
        if line.startswith("Client scenarios"):
            inside = True
        elif inside and line.strip().startswith("- "):
            names.append(line.strip()[2:].split()[0])
        elif inside and line.strip():
            break
    return names


@contextlib.contextmanager
def client_command() -> Iterator[str]:
    """The suite's client command while it runs: a launcher for a :mod:`~tests.conformance.zygote`.

    Each scenario's client is forked from one process that has done the imports, instead of a
    new ``python -m tests.conformance.client`` paying them (1.5 s of CPU) each time.
    """
    with tempfile.TemporaryDirectory(prefix="agent-conformance-zygote-") as scratch:
        path = str(Path(scratch) / "zygote.sock")
        zygote = start_zygote("tests.conformance.zygote", path)
        if zygote is None:
            raise RuntimeError("the conformance client zygote did not start")
        try:
            yield f"{sys.executable} -S {LAUNCHER} {path}"
        finally:
            stop_zygote(zygote, path)


def run_requirements(requirements: str, output: Path) -> tuple[int, list[Outcome]]:
    """Run one requirement set; the suite's exit status and every scenario's outcome."""
    scored = scored_scenarios(requirements)
    with client_command() as command:
        run = _run_suite(command, requirements, output)
    (output / "suite.log").write_text(run.stdout + run.stderr)
    found = {path.parent: path for path in output.rglob("checks.json")}
    by_scenario: dict[str, Path] = {}
    for directory, path in found.items():
        by_scenario[_STAMP.sub("", directory.relative_to(output).as_posix())] = path
    names = list(dict.fromkeys([*scored, *sorted(by_scenario)]))
    return run.returncode, [_outcome(name, name in scored, by_scenario.get(name)) for name in names]


def _run_suite(command: str, requirements: str, output: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "conformance",
            "client",
            "--command",
            command,
            "--requirements",
            requirements,
            "--timeout",
            str(SCENARIO_TIMEOUT_MS),
            "-o",
            str(output),
        ],
        env=_environment(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def _outcome(scenario: str, scored: bool, path: Path | None) -> Outcome:
    if path is None:
        return Outcome(scenario, scored, 0, ("no results: the scenario did not run",))
    checks = json.loads(path.read_text())
    problems = tuple(
        f"{check.get('id')}: {check.get('status')}: {check.get('errorMessage') or check.get('description')}"
        for check in checks
        if check.get("status") in _BAD
    )
    return Outcome(scenario, scored, len(checks), problems)


def report(requirements: str, status: int, outcomes: list[Outcome]) -> bool:
    """Print one line per scenario (problems of scored ones indented below); True when all scored passed."""
    print(f"== conformance client --requirements {requirements} (suite exit status {status})")
    for outcome in outcomes:
        mark = "PASS" if outcome.passed else "FAIL"
        kind = "" if outcome.scored else "  (not scored)"
        print(f"  {mark} {outcome.scenario}: {outcome.checks} checks{kind}")
        if outcome.scored:
            for problem in outcome.problems:
                print(f"       {problem}")
    failed = [o.scenario for o in outcomes if o.scored and not o.passed]
    scored = sum(o.scored for o in outcomes)
    print(
        f"  {scored - len(failed)}/{scored} scored scenarios passed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return status == 0 and not failed


def main(argv: list[str] | None = None) -> int:
    """Run the requirement sets named on the command line; 0 when every scored scenario passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requirements", action="append", required=True, help="a spec revision, e.g. 2026-07-28"
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="keep the results here (default: a temporary directory)"
    )
    args = parser.parse_args(argv)
    if not available():
        print(
            f"the conformance suite is not installed: run npm ci in {NODE_BIN.parent.parent}", file=sys.stderr
        )
        return 1
    ok = True
    with tempfile.TemporaryDirectory(prefix="agent-conformance-results-") as scratch:
        base = args.output or Path(scratch)
        for requirements in args.requirements:
            output = base / requirements
            output.mkdir(parents=True, exist_ok=True)
            status, outcomes = run_requirements(requirements, output)
            ok = report(requirements, status, outcomes) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
