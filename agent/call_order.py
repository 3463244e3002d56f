"""Which of one turn's tool calls may run at the same time, and which must wait for each other.

A server is free to handle concurrent calls that change its state badly: the reference
``server-memory`` loads and rewrites its whole file per call, so two writes at once lose one.
So the calls of a turn to one server that are not annotated read-only (``readOnlyHint``) run one
after another, in the order the model gave them. Read-only calls, and calls to different
servers, run concurrently.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

__all__ = ["lanes"]


def lanes(keys: Sequence[Hashable | None]) -> list[list[int]]:
    """Group call positions into lanes: lanes run concurrently, a lane's calls one after another.

    ``keys[i]`` names what call ``i`` must not overlap with (its server), or is None when the
    call may overlap anything (it is read-only, or is answered without running). Calls with the
    same key share a lane, in their order; lanes come in the order of their first call.
    """
    result: list[list[int]] = []
    by_key: dict[Hashable, list[int]] = {}
    for index, key in enumerate(keys):
        if key is None:
            result.append([index])
            continue
        lane = by_key.get(key)
        if lane is None:
            lane = by_key[key] = []
            result.append(lane)
        lane.append(index)
    return result
