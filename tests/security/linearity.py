"""A growth check for parsers of untrusted input: 8 times the input may cost ~8 times the time, not 64.

Timing ratios, not absolute times, so a slow or loaded machine does not fail it: the best of a
few runs at size n and at 8n, and a ratio bound well below what quadratic work would give.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["assert_linear"]

_GROWTH = 8
_LIMIT = 24.0  # linear work gives ~8, quadratic ~64


def _best(run: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def assert_linear(process: Callable[[str], object], unit: str, count: int) -> None:
    """``process(unit * count * 8)`` takes less than ``_LIMIT`` times ``process(unit * count)``."""
    small, large = unit * count, unit * (count * _GROWTH)
    floor = _best(lambda: process(small))
    grown = _best(lambda: process(large))
    ratio = grown / max(floor, 1e-4)
    assert ratio < _LIMIT, f"{_GROWTH}x the input took {ratio:.1f}x the time ({floor:.4f}s -> {grown:.4f}s)"
