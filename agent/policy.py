"""Which tool calls may run, and which must be approved first: pure rules over tool names and hints.

A call of tool ``tool`` of server ``server`` is weighed in this order:

1. **deny** globs refuse it, whatever else says: ``--deny`` on ``server.tool`` (``fs.*``,
   ``*.delete_*``), and the MCP config entry's ``deny`` on its own tool names (``write_*``).
2. **allow** globs, when any are given, are an allowlist: a tool none of them matches is refused.
   ``--allow`` (on ``server.tool``) and an entry's ``allow`` (on its tool names) both apply.
   Allowing never approves: an allowed tool that needs approval is still asked about.
3. **approval**, by ``mode``: ``destructive`` (the default) asks before a tool that may destroy
   data; ``strict`` before every tool not annotated read-only; ``off`` never asks.

Globs are :mod:`fnmatch` patterns matched case-sensitively (``*`` also matches dots). Annotations
are the server's hints, defaulted as the MCP spec says (``ToolAnnotations``: ``readOnlyHint``
false, ``destructiveHint`` true): a tool that says nothing counts as destructive. A hint may be
a lie, so it only ever adds questions: a server cannot talk its way past a ``deny``.

This module imports nothing heavy: the option table (and ``agent --help``) uses it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from agent.tools import ToolInfo

__all__ = [
    "APPROVAL_MODES",
    "ApprovalMode",
    "ServerRules",
    "ToolPolicy",
    "check_server_glob",
    "check_tool_glob",
]

ApprovalMode = Literal["destructive", "strict", "off"]
APPROVAL_MODES: tuple[ApprovalMode, ...] = ("destructive", "strict", "off")
_MAX_GLOB = 300


def check_tool_glob(pattern: str) -> str:
    """A ``server.tool`` glob as given to ``--allow``/``--deny``.

    Raises:
        ValueError: the pattern is empty, has control characters, or names no server part.
    """
    text = _check_glob(pattern)
    if "." not in text:
        raise ValueError(f"expected a SERVER.TOOL glob such as fs.* or *.{text}")
    return text


def check_server_glob(pattern: str) -> str:
    """A tool-name glob of one server's ``allow``/``deny`` list.

    Raises:
        ValueError: the pattern is empty or has control characters.
    """
    return _check_glob(pattern)


def _check_glob(pattern: str) -> str:
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("expected a non-empty glob")
    if not pattern.isprintable() or len(pattern) > _MAX_GLOB:
        raise ValueError(f"expected a glob of printable characters, at most {_MAX_GLOB}")
    return pattern.strip()


@dataclass(frozen=True, slots=True)
class ServerRules:
    """One server's own rules, from its MCP config entry: globs on its tool names.

    ``allow`` None means no allowlist (every tool); an empty tuple allows none.
    """

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """The rules of one agent (see the module docstring).

    Attributes:
        allow: ``server.tool`` globs (``--allow``); empty: no allowlist.
        deny: ``server.tool`` globs (``--deny``).
        servers: each server's own rules, by server name.
        approval: which tools are asked about before they run.
    """

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    servers: Mapping[str, ServerRules] = field(default_factory=dict)
    approval: ApprovalMode = "destructive"

    @classmethod
    def build(
        cls,
        *,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        servers: Mapping[str, ServerRules] | None = None,
        approval: ApprovalMode = "destructive",
    ) -> ToolPolicy:
        """A policy from option values (each glob checked).

        Raises:
            ValueError: a glob is malformed.
        """
        return cls(
            allow=tuple(check_tool_glob(p) for p in allow),
            deny=tuple(check_tool_glob(p) for p in deny),
            servers=dict(servers or {}),
            approval=approval,
        )

    @property
    def open(self) -> bool:
        """Whether every call runs unasked (no rules, approval off): nothing to check."""
        return not (self.allow or self.deny or self.servers) and self.approval == "off"

    def refusal(self, server: str, tool: str) -> str | None:
        """Why the rules refuse ``server.tool`` (None: they let it through)."""
        own = self.servers.get(server, ServerRules())
        for pattern in own.deny:
            if fnmatchcase(tool, pattern):
                return f"mcpServers.{server}.deny matches it ({pattern})"
        qualified = f"{server}.{tool}"
        for pattern in self.deny:
            if fnmatchcase(qualified, pattern):
                return f"--deny {pattern} matches it"
        if own.allow is not None and not any(fnmatchcase(tool, p) for p in own.allow):
            return f"mcpServers.{server}.allow does not match it ({', '.join(own.allow) or 'empty'})"
        if self.allow and not any(fnmatchcase(qualified, p) for p in self.allow):
            return f"--allow does not match it ({', '.join(self.allow)})"
        return None

    def needs_approval(self, tool: ToolInfo) -> str | None:
        """Why a call of ``tool`` must be approved before it runs (None: it need not be)."""
        if self.approval == "off" or tool.read_only:
            return None
        if tool.destructive:
            return "it may change or delete data (not annotated read-only or non-destructive)"
        if self.approval == "strict":
            return "it is not annotated read-only (--approval strict)"
        return None
