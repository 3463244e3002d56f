"""Start the tests' helper Python processes by forking one that has done the imports already.

Every new Python process that imports the MCP SDK spends about 1.5 s of CPU on it (pydantic
builds some 550 model classes), and the test suite starts hundreds: fixture MCP servers and the
conformance suite's clients. On a 2-core CI machine that was a third of the whole run. A *zygote*
does those imports once and listens on a Unix socket; the command the runtime (or the suite)
starts is still a process of its own, a *launcher*, which hands the zygote its argv, environment,
working directory and its standard input, output and error (the descriptors themselves) and waits.
The zygote forks; the child takes the launcher's streams and runs the program exactly as a new
interpreter would, then reports its exit status, which the launcher exits with. The launcher
keeps none of the streams, so the runtime sees end-of-file when the child ends; a child whose
launcher is gone (killed on a timeout, or stopped by the runtime) exits at once.

``python -m tests.forking fixtures SOCKET`` runs the fixture servers' zygote (the root
``conftest.py`` starts it for a test session, see :func:`fixture_socket`);
:mod:`tests.conformance.zygote` runs the conformance clients'.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

MAX_REQUEST = 1 << 20
ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
CHILD_MARKER = "_tests_forking_child"
"""In ``sys.modules`` of a forked child: a program that hands itself over runs instead."""


# -- the launcher's side (standard library only: it starts in milliseconds) ----------------------


def hand_over(path: str, argv: list[str]) -> int | None:
    """Have the zygote on ``path`` run ``argv`` with this process's streams; its exit status.

    None, with nothing done, when no zygote listens there (or this is a forked child already):
    the caller runs the program itself.
    """
    if CHILD_MARKER in sys.modules:
        return None
    request = json.dumps({"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    with conn:
        socket.send_fds(conn, [len(request).to_bytes(4, "big") + request], [0, 1, 2])
        with open(os.devnull, "r+b") as null:  # the child's ends of the pipes only
            for fd in (0, 1, 2):
                os.dup2(null.fileno(), fd)
        answer = b""
        while chunk := conn.recv(64):
            answer += chunk
    text = answer.decode(errors="replace").strip()
    return int(text) if text.lstrip("-").isdigit() else 1


def fixture_socket() -> str:
    """Where this checkout's fixture zygote listens (short: a Unix socket path has ~100 bytes)."""
    tag = hashlib.sha256(f"{FIXTURES}:{os.getuid()}".encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"agent-fixtures-{tag}.sock")


def hand_over_fixture(script: str) -> None:
    """At the top of a fixture server: run in a fork of the fixture zygote when one listens.

    Options whose tests are about the server's process itself (``--pid-file``, ``--hang-start``,
    ``--fail-start``) always run in a process of their own.
    """
    if any(arg in sys.argv for arg in ("--pid-file", "--hang-start", "--fail-start")):
        return
    status = hand_over(fixture_socket(), [script, *sys.argv[1:]])
    if status is not None:
        os._exit(status)


# -- the zygote's side ------------------------------------------------------------------------


def start_zygote(
    module: str, path: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str] | None:
    """Start ``python -m MODULE ARGS... PATH`` (a zygote) and wait until it listens on ``path``.

    None when it did not say ``ready`` (it is stopped then). A socket left at ``path`` by a zygote
    that was killed is removed first.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    zygote = subprocess.Popen(
        [sys.executable, "-m", module, *args, path],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert zygote.stdout is not None
    if zygote.stdout.readline().strip() != "ready":
        stop_zygote(zygote, path)
        return None
    return zygote


def stop_zygote(zygote: subprocess.Popen[str], path: str) -> None:
    """Kill a zygote (its forks end with their launchers) and remove its socket."""
    zygote.kill()
    zygote.communicate()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def serve(path: str, preload: Iterable[str], run: Callable[[list[str]], int]) -> None:
    """Import ``preload``, listen on ``path``, and fork ``run(argv)`` for each launcher, until killed."""
    import importlib

    for name in preload:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(128)
        print("ready", flush=True)
        while True:
            conn, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                _child(conn, run)  # never returns
            conn.close()


def _child(conn: socket.socket, run: Callable[[list[str]], int]) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        sys.modules[CHILD_MARKER] = sys.modules[__name__]
        argv, env, cwd = _receive(conn)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        threading.Thread(target=_exit_when_gone, args=(conn,), daemon=True).start()
        try:
            code = run(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except BaseException:  # as an uncaught exception ends a program: its traceback, status 1
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        conn.sendall(str(code).encode())
    finally:
        os._exit(code)


def _receive(conn: socket.socket) -> tuple[list[str], dict[str, str], str]:
    """The launcher's argv, environment and directory; its standard streams become this process's."""
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:4], "big"):
        chunk = conn.recv(65536)
        if not chunk or len(data) > MAX_REQUEST:
            raise ConnectionError("the launcher went away")
        data += chunk
    request = json.loads(data[4 : 4 + int.from_bytes(data[:4], "big")])
    argv = [str(arg) for arg in request["argv"]]
    env = {str(key): str(value) for key, value in request["env"].items()}
    return argv, env, str(request["cwd"])


def _exit_when_gone(conn: socket.socket) -> None:
    """The launcher closes its end only when it dies before the child's answer: so does the child."""
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    os._exit(1)


def run_script(argv: list[str]) -> int:
    """Run the script ``argv[0]`` as ``python SCRIPT ARGS...`` would."""
    import runpy

    sys.argv = list(argv)
    sys.path[0] = os.path.dirname(os.path.abspath(argv[0]))
    runpy.run_path(argv[0], run_name="__main__")
    return 0


FIXTURE_PRELOAD = (
    "anyio",
    "pydantic",
    "mcp",
    "mcp_types",
    "mcp.server.mcpserver",
    "mcp.server.lowlevel",
    "mcp.server.stdio",
    "mcp.server.elicitation",
    "mcp.server.mcpserver.resolve",
    "mcp.server.mcpserver.prompts.base",
    "mcp.server.mcpserver.exceptions",
    "mcp.shared.exceptions",
)
"""What the fixture servers import."""


if __name__ == "__main__":
    if sys.argv[1:2] != ["fixtures"] or len(sys.argv) != 3:
        sys.exit("usage: python -m tests.forking fixtures SOCKET")
    serve(sys.argv[2], FIXTURE_PRELOAD, run_script)
