"""Regular-expression content search in a child process that is killed when a file takes too long.

Python's ``re`` holds the GIL while it backtracks, so ``(a*)*b`` over a long line froze the
whole server, and a thread cannot be stopped. The matching therefore runs in a small worker
process (:mod:`servers.fs_regex_worker`, standard library only): it gets the pattern once and
then one file's text per request. A file that takes longer than ``REGEX_SECONDS`` gets the
worker killed and the search fails with one line that says so.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

__all__ = ["MAX_REGEX_CHARS", "REGEX_SECONDS", "RegexTimeoutError", "RegexWorker", "check_regex"]

REGEX_SECONDS = 5.0
MAX_REGEX_CHARS = 1000
_WORKER = Path(__file__).with_name("fs_regex_worker.py")
_READ_BYTES = 64 * 1024


class RegexTimeoutError(ValueError):
    """Matching one file took longer than the time budget."""


def check_regex(pattern: str) -> None:
    """Compile ``pattern`` here, so a syntax error is reported before any worker starts.

    Raises:
        ValueError: It is not a valid Python regular expression, is too long or nests too deeply.
    """
    if len(pattern) > MAX_REGEX_CHARS:
        raise ValueError(f"the regular expression is over {MAX_REGEX_CHARS} characters")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
    except RecursionError as exc:
        raise ValueError("the regular expression nests too deeply") from exc


class RegexWorker:
    """A lazily started worker process for one search; use as a context manager."""

    def __init__(self, pattern: str, *, seconds: float | None = None) -> None:
        """Prepare to match ``pattern``, allowing ``seconds`` (default ``REGEX_SECONDS``) per file."""
        self._pattern = pattern
        self._seconds = REGEX_SECONDS if seconds is None else seconds
        self._process: subprocess.Popen[bytes] | None = None
        self._pending = b""

    def __enter__(self) -> RegexWorker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Kill the worker, if one was started, and release its pipes."""
        process, self._process = self._process, None
        if process is None:
            return
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()

    def matching_lines(self, lines: Sequence[str]) -> list[int]:
        """The 0-based indices of the ``lines`` the pattern finds a match in.

        Raises:
            RegexTimeoutError: The worker took longer than the budget (it has been killed).
            RuntimeError: The worker died or answered nonsense.
        """
        process = self._started()
        request = {"lines": list(lines), "seconds": self._seconds}
        deadline = time.monotonic() + self._seconds
        try:
            self._send(process, request)
            answer = self._receive(process, deadline)
        except (BrokenPipeError, RegexTimeoutError):
            self.close()
            raise self._timeout() from None
        found = json.loads(answer)
        if not isinstance(found, list) or not all(isinstance(index, int) for index in found):
            self.close()
            raise RuntimeError("the regex worker gave an invalid answer")
        return found

    def _timeout(self) -> RegexTimeoutError:
        return RegexTimeoutError(f"regex search took longer than {self._seconds:g} s; simplify the pattern")

    def _started(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._pending = b""
            self._send(self._process, {"pattern": self._pattern})
        return self._process

    @staticmethod
    def _send(process: subprocess.Popen[bytes], message: dict[str, object]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message).encode("ascii") + b"\n")
        process.stdin.flush()

    def _receive(self, process: subprocess.Popen[bytes], deadline: float) -> bytes:
        """One answer line, waiting no later than ``deadline``."""
        assert process.stdout is not None
        fd = process.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise self._timeout()
                chunk = os.read(fd, _READ_BYTES)
                if not chunk:
                    raise RuntimeError("the regex worker exited unexpectedly")
                self._pending += chunk
        answer, _, self._pending = self._pending.partition(b"\n")
        return answer
