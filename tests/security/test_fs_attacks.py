"""Attacks that once froze, crashed or escaped the fs server, replayed against the real server process.

Each test starts ``python -m servers.fs ROOT --allow-writes`` over stdio, as the runtime does,
makes the attack call and, until it answers, keeps making an innocent call. Every innocent call
must answer within PROMPT_SECONDS: a generous bound that only proves the server did not freeze
(the attacks took minutes before). The server's stderr is captured and must stay quiet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from servers.fs_lines import MAX_LINE_CHARS
from servers.fs_regex import REGEX_SECONDS
from tests.servers.helpers import call

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
PROMPT_SECONDS = 10
PROBE_EVERY_SECONDS = 0.2
INNOCENT = ("read_file", {"path": "a.txt"})
INNOCENT_ANSWER = (False, "alpha\nbeta\n")


@dataclass
class Server:
    client: Client
    stderr: Path
    root: Path

    def stderr_text(self) -> str:
        return self.stderr.read_text()

    def pid(self) -> int:
        """The server process: our child whose command line names the root."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, IndexError, ValueError):
                continue
            if ppid == os.getpid() and b"servers.fs" in argv and os.fsencode(self.root) in argv:
                return int(entry.name)
        raise LookupError("the fs server process was not found")

    def peak_memory_kib(self) -> int:
        for line in Path(f"/proc/{self.pid()}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise LookupError("VmHWM missing")


@dataclass
class Outcome:
    attack: tuple[bool, str]
    probes: list[tuple[bool, tuple[bool, str]]] = field(default_factory=list)
    """``(attack still running, probe result)`` for each innocent call."""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """``root/a.txt`` plus a sibling ``outside/secret.txt`` that the server must never touch."""
    base = Path(os.path.realpath(tmp_path))
    (base / "root").mkdir()
    (base / "outside").mkdir()
    (base / "root" / "a.txt").write_text("alpha\nbeta\n")
    (base / "outside" / "secret.txt").write_text("secret\n")
    return base / "root"


def _outside(root: Path) -> dict[str, str]:
    """Everything under the sibling ``outside`` directory: file contents, and ``/`` for directories."""
    outside = root.parent / "outside"
    return {
        path.relative_to(outside).as_posix(): "/" if path.is_dir() else path.read_text()
        for path in sorted(outside.rglob("*"))
    }


@asynccontextmanager
async def serve(root: Path) -> AsyncIterator[Server]:
    stderr = root.parent / "server-stderr.txt"
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "servers.fs", str(root), "--allow-writes"], cwd=str(REPO)
    )
    with stderr.open("w") as errlog, anyio.fail_after(60):
        async with Client(stdio_client(params, errlog=errlog), mode="legacy") as client:
            yield Server(client, stderr, root)


async def attack_while_probing(
    server: Server, tool: str, arguments: dict[str, object], probe: tuple[str, dict[str, object]] = INNOCENT
) -> Outcome:
    """Make the attack call; until it answers, make the innocent call again and again."""
    answered = anyio.Event()
    outcome = Outcome(attack=(True, "no answer"))

    async def attack() -> None:
        outcome.attack = await call(server.client, tool, arguments)
        answered.set()

    async with anyio.create_task_group() as group:
        group.start_soon(attack)
        while True:
            with anyio.fail_after(PROMPT_SECONDS):
                result = await call(server.client, *probe)
            outcome.probes.append((not answered.is_set(), result))
            if answered.is_set():
                break
            with anyio.move_on_after(PROBE_EVERY_SECONDS):
                await answered.wait()
    return outcome


def _all_innocent_calls_answered(outcome: Outcome) -> bool:
    return bool(outcome.probes) and all(result == INNOCENT_ANSWER for _, result in outcome.probes)


async def test_a_backtracking_glob_is_matched_in_linear_time_while_other_calls_answer(root: Path) -> None:
    (root / ("a" * 40)).write_text("x\n")  # backtracking glob matchers take minutes on this name
    (root / ("a" * 39 + "c")).write_text("x\n")
    async with serve(root) as server:
        with anyio.fail_after(PROMPT_SECONDS):
            outcome = await attack_while_probing(
                server, "search_files", {"pattern": "*a*a*a*a*a*a*a*a*a*a*a*a*c"}
            )
    assert outcome.attack == (False, "a" * 39 + "c")
    assert _all_innocent_calls_answered(outcome)
    assert server.stderr_text() == ""


async def test_a_catastrophic_regex_is_stopped_after_its_budget_while_other_calls_answer(root: Path) -> None:
    (root / "victim.txt").write_text("a" * 64 + "\n")
    async with serve(root) as server:
        with anyio.fail_after(REGEX_SECONDS + 3 * PROMPT_SECONDS):
            outcome = await attack_while_probing(
                server, "search_files", {"pattern": "*.txt", "content": "(a*)*b", "regex": True}
            )
        afterwards = await call(
            server.client, "search_files", {"pattern": "*.txt", "content": "^a{64}$", "regex": True}
        )
    assert outcome.attack == (
        True,
        f"Error executing tool search_files: regex search took longer than {REGEX_SECONDS:g} s; "
        "simplify the pattern",
    )
    assert _all_innocent_calls_answered(outcome)
    assert any(during for during, _ in outcome.probes), "no innocent call answered while the regex ran"
    assert afterwards == (False, "victim.txt:1: " + "a" * 64)
    assert server.stderr_text() == ""


async def test_a_path_too_deep_too_long_or_with_nul_is_refused_in_one_line_and_stderr_stays_quiet(
    root: Path,
) -> None:
    attacks = ["d/" * 1100 + "f.txt", "x" * 5000, "a\0b"]
    async with serve(root) as server:
        with anyio.fail_after(PROMPT_SECONDS * len(attacks)):
            outcomes = [
                await attack_while_probing(server, "write_file", {"path": path, "content": "x"})
                for path in attacks
            ]
            listing = await call(server.client, "list_directory", {})
    assert [outcome.attack for outcome in outcomes] == [
        (True, "Error executing tool write_file: path is 1101 levels deep, over the limit of 64"),
        (True, "Error executing tool write_file: path is 5000 characters long, over the limit of 4096"),
        (True, "Error executing tool write_file: path 'a\\x00b' contains a NUL character"),
    ]
    assert all(_all_innocent_calls_answered(outcome) for outcome in outcomes)
    assert listing == (False, "[file] a.txt (11 bytes)")
    assert server.stderr_text() == ""


def test_once_logging_is_configured_the_sdk_logs_a_crash_as_one_plain_line() -> None:
    script = (
        "import logging\n"
        "from servers._cli import configure_logging\n"
        "configure_logging()\n"
        "from mcp.server.mcpserver import MCPServer\n"
        "MCPServer('x')\n"
        "def deep(n): return deep(n + 1)\n"
        "try:\n"
        "    deep(0)\n"
        "except RecursionError:\n"
        "    logging.getLogger('mcp.server').exception('Tool %r raised', 'write_file')\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert (completed.returncode, completed.stdout, completed.stderr) == (
        0,
        "",
        "mcp.server: ERROR: Tool 'write_file' raised (RecursionError: maximum recursion depth exceeded)\n",
    )


async def test_a_fifo_is_never_opened(root: Path) -> None:
    os.mkfifo(root / "pipe")
    attacks: list[tuple[str, dict[str, object]]] = [
        ("read_file", {"path": "pipe"}),
        ("edit_file", {"path": "pipe", "edits": [{"old_text": "a", "new_text": "b"}]}),
        ("write_file", {"path": "pipe", "content": "x"}),
        ("search_files", {"pattern": "*", "content": "alpha"}),
        ("list_directory", {}),
        ("file_info", {"path": "pipe"}),
    ]
    async with serve(root) as server:
        with anyio.fail_after(PROMPT_SECONDS * len(attacks)):
            outcomes = [await attack_while_probing(server, tool, arguments) for tool, arguments in attacks]
    refusal = "pipe is a FIFO (named pipe), not a regular file; only regular files can be opened"
    assert [outcome.attack for outcome in outcomes[:5]] == [
        (True, f"Error executing tool read_file: {refusal}"),
        (True, f"Error executing tool edit_file: {refusal}"),
        (True, f"Error executing tool write_file: {refusal}"),
        (False, "a.txt:1: alpha"),
        (False, "[file] a.txt (11 bytes)\n[other] pipe"),
    ]
    assert outcomes[5].attack[1].splitlines()[2:4] == ["type: other", "size: 0 bytes"]
    assert all(_all_innocent_calls_answered(outcome) for outcome in outcomes)
    assert server.stderr_text() == ""


async def test_a_huge_single_line_file_reads_one_truncated_line_in_bounded_memory(root: Path) -> None:
    size = 64 * 1024 * 1024
    with (root / "huge.txt").open("wb") as handle:
        for _ in range(size // (1024 * 1024)):
            handle.write(b"z" * (1024 * 1024))
    async with serve(root) as server:
        with anyio.fail_after(PROMPT_SECONDS):
            await call(server.client, *INNOCENT)
            before = server.peak_memory_kib()
            outcome = await attack_while_probing(server, "read_file", {"path": "huge.txt", "limit": 1})
            after = server.peak_memory_kib()
            empty_range = await call(server.client, "read_file", {"path": "huge.txt", "offset": 2})
    assert outcome.attack == (False, "z" * MAX_LINE_CHARS + f" [line truncated: {size} characters]")
    assert _all_innocent_calls_answered(outcome)
    assert after - before < 32 * 1024, f"peak memory grew by {after - before} KiB reading a {size}-byte line"
    assert empty_range == (
        True,
        "Error executing tool read_file: offset 2 is past the end of huge.txt (1 lines)",
    )


_SWAPPER = """
import os, shutil, sys
directory, parked, target = sys.argv[1:]
print("ready", flush=True)
while True:
    try:
        if os.path.islink(parked):
            os.unlink(parked)
        elif os.path.exists(parked):  # the server made a new directory while ours was parked
            shutil.rmtree(parked)
        os.rename(directory, parked)
        os.symlink(target, directory)
        os.unlink(directory)
        os.rename(parked, directory)
    except OSError:
        pass
"""


@contextmanager
def swapping(directory: Path, target: Path) -> Iterator[None]:
    """Keep replacing ``directory`` by a symlink to ``target`` and back, in another process."""
    parked = directory.with_name(directory.name + "-parked")
    swapper = subprocess.Popen(
        [sys.executable, "-c", _SWAPPER, str(directory), str(parked), str(target)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert swapper.stdout is not None
        assert swapper.stdout.readline() == "ready\n"
        yield
    finally:
        swapper.kill()
        swapper.wait()
        assert swapper.stdout is not None
        swapper.stdout.close()
    if directory.is_symlink():
        directory.unlink()
    if parked.exists() and not directory.exists():
        parked.rename(directory)


async def test_swapping_a_directory_for_an_outside_link_never_reads_or_writes_outside(root: Path) -> None:
    (root / "swap" / "a" / "b" / "c").mkdir(parents=True)
    (root / "swap" / "secret.txt").write_text("inside\n")
    outside = root.parent / "outside"
    (outside / "only-outside.txt").write_text("outside\n")
    before = _outside(root)
    answers: list[tuple[bool, str]] = []
    async with serve(root) as server:
        with swapping(root / "swap", outside), anyio.fail_after(120):
            for number in range(200):
                for tool, arguments in [
                    ("write_file", {"path": f"swap/a/b/c/n{number}/x.txt", "content": "x"}),
                    ("write_file", {"path": "swap/secret.txt", "content": "inside\n"}),
                    ("read_file", {"path": "swap/secret.txt"}),
                    ("list_directory", {"path": "swap"}),
                ]:
                    answers.append(await call(server.client, tool, arguments))
    assert _outside(root) == before
    assert [text for _, text in answers if "secret\n" in text or "only-outside" in text] == []
    assert [text for is_error, text in answers if is_error and "\n" in text] == []
    assert any(not is_error for is_error, _ in answers)


async def test_forty_parallel_edits_of_one_file_all_apply(root: Path) -> None:
    (root / "edit.txt").write_text("".join(f"marker-{number:02d}\n" for number in range(40)))
    answers: list[tuple[bool, str]] = []

    async def edit(client: Client, number: int) -> None:
        change = {"old_text": f"marker-{number:02d}", "new_text": f"done-{number:02d}"}
        answers.append(await call(client, "edit_file", {"path": "edit.txt", "edits": [change]}))

    async with serve(root) as server:
        with anyio.fail_after(PROMPT_SECONDS * 3):
            async with anyio.create_task_group() as group:
                for number in range(40):
                    group.start_soon(edit, server.client, number)
                with anyio.fail_after(PROMPT_SECONDS):
                    innocent = await call(server.client, *INNOCENT)
    assert [is_error for is_error, _ in answers] == [False] * 40
    assert innocent == INNOCENT_ANSWER
    assert (root / "edit.txt").read_text() == "".join(f"done-{number:02d}\n" for number in range(40))
    assert sorted(os.listdir(root)) == ["a.txt", "edit.txt"]


async def test_list_directory_marks_links_without_revealing_their_targets(root: Path) -> None:
    outside = root.parent / "outside"
    (root / "link_out").symlink_to(outside)
    (root / "file_out").symlink_to(outside / "secret.txt")
    (root / "dangling").symlink_to(outside / "nowhere")
    async with serve(root) as server:
        with anyio.fail_after(PROMPT_SECONDS):
            outcome = await attack_while_probing(server, "list_directory", {"path": "."})
            searched = await call(server.client, "search_files", {"pattern": "*"})
    assert outcome.attack == (
        False,
        "[file] a.txt (11 bytes)\n[link] dangling\n[link] file_out\n[link] link_out",
    )
    assert _all_innocent_calls_answered(outcome)
    assert str(outside) not in outcome.attack[1] + searched[1]
