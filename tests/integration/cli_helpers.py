"""Running the real ``agent`` command against a loopback OpenRouter server."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AGENT = str(Path(sys.executable).parent / "agent")
TEST_KEY = "sk-or-v1-loopback-test-key-0123456789abcdef"
FIXTURE_SERVER = str(Path(__file__).parents[1] / "fixtures" / "mcp_test_server.py")


@dataclass
class Completed:
    """What one ``agent`` process did."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert len(lines) == 1, f"expected one JSON line on stdout, got: {self.stdout!r}"
        value = json.loads(lines[0])
        assert isinstance(value, dict)
        return value

    def assert_no_key(self) -> None:
        assert TEST_KEY not in self.stdout and TEST_KEY not in self.stderr


def agent_env(base_url: str | None, home: Path, **extra: str) -> dict[str, str]:
    """A clean environment: the loopback endpoint, a test key, no user config."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AGENT_CONFIG_DIR": str(home / "agent-config"),
        "AGENT_CACHE_DIR": str(home / "agent-cache"),
        "AGENT_DATA_DIR": str(home / "agent-data"),
        "OPENROUTER_API_KEY": TEST_KEY,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if base_url is not None:
        env["OPENROUTER_BASE_URL"] = base_url
    env.update(extra)
    return env


def run_agent_cli(
    *args: str,
    env: dict[str, str],
    cwd: Path,
    stdin: str | None = None,
    timeout: float = 60,
    process: bool = False,
) -> Completed:
    """Run ``agent ARGS...`` as a user would and capture everything.

    In this process by default (the console entry point with this environment, working
    directory, argv and streams; MCP servers are still real processes): behaviour tests need
    not pay for a Python start-up each. ``process=True`` runs the installed ``agent`` executable,
    for tests whose subject is the process itself.
    """
    if not process:
        return _in_process(list(args), env, cwd, stdin)
    proc = subprocess.run(
        [AGENT, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def _in_process(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None) -> Completed:
    """``agent ARGS...`` through the console entry point, inside this process."""
    from agent.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    saved_streams = (sys.stdin, sys.stdout, sys.stderr, sys.argv)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin, sys.stdout, sys.stderr, sys.argv = io.StringIO(stdin or ""), out, err, ["agent", *args]
    code: int
    try:
        main(whole_process=False)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin, sys.stdout, sys.stderr, sys.argv = saved_streams
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    return Completed(code, out.getvalue(), err.getvalue())


Typist = Callable[[bytes], bytes | None]
"""Given everything the terminal showed so far, what the person types next (None: nothing yet)."""


_CONTROLLING = (
    "import os, sys; os.close(os.open(os.ttyname(0), os.O_RDWR)); os.execv(sys.argv[1], sys.argv[1:])"
)
"""Make stdin's terminal the controlling one of a new session, then become ``agent``."""


def at_a_terminal(
    args: list[str],
    env: dict[str, str],
    cwd: Path,
    typist: Typist,
    timeout: float = 60,
    *,
    controlling: bool = False,
    stdout_too: bool = False,
) -> tuple[int, str, str]:
    """Run ``agent ARGS`` with stdin and stderr on a pseudo-terminal, typing what ``typist`` says.

    ``controlling``: the pseudo-terminal is the process's controlling terminal, as a real one
    is, so typing Ctrl-C (``\\x03``) sends it SIGINT. ``stdout_too``: stdout is on it as well
    (the stdout returned is then empty). The terminal is 80 columns by 24 rows.

    Returns the exit code, what the terminal showed (``\\r\\n`` as ``\\n``) and stdout.
    """
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    command = [sys.executable, "-c", _CONTROLLING, AGENT, *args] if controlling else [AGENT, *args]
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdin=follower,
        stdout=follower if stdout_too else subprocess.PIPE,
        stderr=follower,
        start_new_session=controlling,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: the child side closed
                    break
                if not chunk:
                    break
                seen += chunk
            typed = typist(seen)
            if typed:
                os.write(leader, typed)
            if proc.poll() is not None and not ready:
                break
        if proc.poll() is None:  # still running at the deadline: fail the test, do not hang on stdout
            proc.kill()
        out = proc.stdout.read().decode() if proc.stdout is not None else ""
        code = proc.wait(timeout=30)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
        if proc.stdout is not None:
            proc.stdout.close()
    return code, seen.decode(errors="replace").replace("\r\n", "\n"), out


def answering(question: bytes, answers: list[bytes]) -> Typist:
    """A person who types the n-th of ``answers`` once ``question`` has been asked n times."""
    given = 0

    def typist(seen: bytes) -> bytes | None:
        nonlocal given
        if given < len(answers) and seen.count(question) > given:
            given += 1
            return answers[given - 1]
        return None

    return typist
