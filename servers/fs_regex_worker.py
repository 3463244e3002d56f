"""The child process of :mod:`servers.fs_regex`: runs one regular expression over texts it is sent.

Run as ``python -I -S fs_regex_worker.py``; standard library only, so it starts in milliseconds.
Protocol, one JSON document per line: first ``{"pattern": P}``, then requests
``{"lines": [L, ...], "seconds": S}`` answered by the 0-based indices of the lines that
match. Each request arms a real-time timer of ``S`` + 1 seconds whose signal,
left at its default action, ends the process even while ``re`` holds the GIL: a worker whose
parent died cannot spin forever.
"""

from __future__ import annotations

import json
import re
import signal
import sys

__all__ = ["main"]

_GRACE_SECONDS = 1.0


def main() -> None:
    """Answer requests on stdin until it closes."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    header = json.loads(sys.stdin.readline())
    compiled = re.compile(header["pattern"])
    for request_line in sys.stdin:
        request = json.loads(request_line)
        signal.setitimer(signal.ITIMER_REAL, float(request["seconds"]) + _GRACE_SECONDS)
        found = [index for index, line in enumerate(request["lines"]) if compiled.search(line)]
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout.write(json.dumps(found) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
