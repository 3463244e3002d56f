"""A growth check for parsers of untrusted input: 8 times the input may cost ~8 times the time, not 64.

Ratios of CPU time (this process's own, so other processes on a loaded machine matter little),
not absolute times: the best of a few runs at size n and at 8n, where n is grown until a run
takes long enough to measure, and a bound well below what quadratic work would give.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["assert_linear"]

_GROWTH = 8
_LIMIT = 24.0  # linear work gives ~8, quadratic ~64
_MEASURABLE = 0.005  # seconds of CPU the smaller input must take
_REPEATS = 5


def _best(process: Callable[[str], object], text: str) -> float:
    best = float("inf")
    for _ in range(_REPEATS):
        started = time.process_time()
        process(text)
        best = min(best, time.process_time() - started)
    return best


def assert_linear(process: Callable[[str], object], unit: str, count: int) -> None:
    """``process(unit * n * 8)`` takes under ``_LIMIT`` times ``process(unit * n)`` (n: count to 4 count)."""
    small = unit * count
    floor = _best(process, small)
    while floor < _MEASURABLE and len(small) < 4 * len(unit) * count:  # at most 4x what the test chose
        small *= 2
        floor = _best(process, small)
    grown = _best(process, small * _GROWTH)
    ratio = grown / max(floor, 1e-6)
    assert ratio < _LIMIT, (
        f"{_GROWTH}x the input took {ratio:.1f}x the CPU time ({floor:.4f}s -> {grown:.4f}s)"
    )
