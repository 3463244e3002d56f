"""What the conformance suite runs per scenario: hands the scenario to :mod:`tests.conformance.zygote`.

``python -S launch.py SOCKET ARGS...`` sends its arguments, environment, working directory and
its standard input, output and error (the descriptors themselves) to the zygote listening on
the Unix socket ``SOCKET``, which forks a client already past its imports; this process then
waits for the client's exit status and exits with it. Killed, it takes the client with it (the
client watches the socket). Standard library only, so that it starts in milliseconds.
"""

from __future__ import annotations

import json
import os
import socket
import sys


def main() -> int:
    path, args = sys.argv[1], sys.argv[2:]
    request = json.dumps({"argv": args, "env": dict(os.environ), "cwd": os.getcwd()}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.connect(path)
        socket.send_fds(conn, [len(request).to_bytes(4, "big") + request], [0, 1, 2])
        answer = b""
        while chunk := conn.recv(64):
            answer += chunk
    return int(answer) if answer.strip().lstrip(b"-").isdigit() else 1


if __name__ == "__main__":
    sys.exit(main())
