"""What the loopback server remembers: each request received, and each request it rejected."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RecordedRequest", "Route", "Violation"]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: method, path (with the ``/api/v1`` prefix), query, headers, JSON."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str] = field(repr=False)  # lower-case names; repr hides the API key
    body: Any
    raw: bytes = field(repr=False)
    client_port: int = field(default=0, repr=False)  # equal ports: the same kept-alive connection


@dataclass(frozen=True)
class Violation:
    """A request a strict provider would reject: which request (0-based) and why."""

    request_index: int
    message: str


@dataclass(frozen=True)
class Route:
    """How a request with OpenRouter's ``models`` array was routed.

    ``requested`` is the order tried (``model`` first, then ``models``); ``tried`` the models
    whose step was consumed; ``answered`` the one that answered (None: the last one's error
    was returned).
    """

    request_index: int
    requested: tuple[str, ...]
    tried: tuple[str, ...]
    answered: str | None
