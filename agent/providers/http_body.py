"""Reading an HTTP body with a size bound: an endpoint cannot make us hold more than we asked for."""

from __future__ import annotations

import httpx

__all__ = ["read_body"]


async def read_body(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    """The body's first ``limit`` bytes at most, and whether that was all of it."""
    pieces: list[bytes] = []
    size = 0
    async for piece in response.aiter_bytes():
        size += len(piece)
        if size > limit:
            pieces.append(piece[: len(piece) - (size - limit)])
            return b"".join(pieces), False
        pieces.append(piece)
    return b"".join(pieces), True
