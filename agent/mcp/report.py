"""Where each configured MCP server stands, in the shape scripts read (``--json``'s ``servers``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ServerReport", "ServerState"]

ServerState = Literal["active", "failed", "disabled"]


class ServerReport(BaseModel):
    """One server of a run: whether it is usable, how many tools it offers, and why not.

    ``active``: up, or down and due to be restarted on its next call. ``failed``: it did not
    start, or stopped and could not be restarted (``error`` says why, on one line).
    ``disabled``: configured but not started.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    status: ServerState
    tools: int = 0
    error: str | None = None
