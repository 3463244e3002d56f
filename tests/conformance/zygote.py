"""A conformance client process that has done its imports once, and forks one client per scenario.

The suite runs its client command once per scenario (about 75 per CI run, many at once), and
each new Python process spends about 1.5 s of CPU importing the runtime and the MCP SDK before
it does anything; on a 2-core CI machine that was most of the conformance step's CPU. The
suite's command is instead :mod:`tests.conformance.launch`, which hands its scenario to this
process over a Unix socket; this process forks, and the child, with the launcher's standard
streams, argv, environment and working directory, runs :func:`tests.conformance.client.main`
exactly as ``python -m tests.conformance.client`` would, reports its exit status and exits.
A child whose launcher is gone (the suite killed it on a timeout) exits too.

``python -m tests.conformance.zygote SOCKET`` prints ``ready`` once it listens.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import signal
import socket
import sys
import threading
import traceback

from tests.conformance import client

MAX_REQUEST = 1 << 20
PRELOAD = ("mcp", "mcp.client.streamable_http", "mcp.client.auth", "mcp.shared.auth", "httpx")
"""Imported here once: the runtime imports these (and :mod:`agent.mcp`) when it first connects."""


def preload() -> None:
    """Import what every client would import on its own, so that the forks share it."""
    import agent.mcp

    for name in PRELOAD:
        importlib.import_module(name)
    for module in pkgutil.iter_modules(agent.mcp.__path__, "agent.mcp."):
        importlib.import_module(module.name)


def serve(path: str) -> None:
    """Accept launchers on ``path`` and fork a client for each, until killed."""
    preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        listener.listen(128)
        print("ready", flush=True)
        while True:
            conn, _ = listener.accept()
            if os.fork() == 0:
                listener.close()
                _child(conn)  # never returns
            conn.close()


def _child(conn: socket.socket) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        argv, env, cwd = _receive(conn)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [client.__file__, *argv]
        threading.Thread(target=_exit_when_gone, args=(conn,), daemon=True).start()
        try:
            code = client.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # reported as an uncaught exception would be
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
    """The launcher closes its end only when it dies before the client's answer: so do we."""
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    os._exit(1)


if __name__ == "__main__":
    serve(sys.argv[1])
