"""Stdio MCP servers: spawned before the MCP SDK is imported, then spoken to through the SDK.

Importing the SDK costs a few hundred milliseconds of CPU; a Python server takes about as long
to boot. Spawning the process first (needing only anyio) lets the two overlap on a multi-core
machine. The transport below carries newline-delimited JSON-RPC between the process's pipes and
the SDK's session, and stops the process the way the spec asks (close stdin, wait, SIGTERM the
process group, SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import IO, TYPE_CHECKING, Any

import anyio
from anyio.abc import Process

from agent.config.servers import StdioServerConfig

if TYPE_CHECKING:
    from mcp.client._transport import TransportStreams

__all__ = ["INHERITED_ENV", "process_transport", "spawn_stdio"]

INHERITED_ENV = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
"""The only parent variables a stdio server sees (the MCP SDK's policy): keys stay with us."""

_EXIT_GRACE_SECONDS = 2.0
_KILL_GRACE_SECONDS = 2.0
_POLL_SECONDS = 0.01


async def spawn_stdio(config: StdioServerConfig, errlog: IO[bytes]) -> Process:
    """Start the server process in its own session, with a minimal environment plus ``config.env``.

    Raises:
        OSError: the command cannot be run (``FileNotFoundError`` when it does not exist).
    """
    env = {k: v for k in INHERITED_ENV if (v := os.environ.get(k)) is not None and not v.startswith("()")}
    env.update(config.env)
    return await anyio.open_process(
        [config.command, *config.args],
        env=env,
        cwd=config.cwd,
        stderr=errlog,
        start_new_session=True,
    )


@contextlib.asynccontextmanager
async def process_transport(process: Process) -> AsyncIterator[TransportStreams]:
    """An MCP SDK transport over a running process's stdin and stdout; stops the process on exit."""
    import mcp_types as types
    from mcp.shared.message import SessionMessage

    incoming_writer, incoming = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    outgoing, outgoing_reader = anyio.create_memory_object_stream[SessionMessage](0)
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    async def read() -> None:
        buffer = b""
        async with incoming_writer:
            with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                async for chunk in stdout:
                    *lines, buffer = (buffer + chunk).split(b"\n")
                    for line in lines:
                        if not line.strip():
                            continue
                        message: SessionMessage | Exception
                        try:
                            message = SessionMessage(
                                types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                            )
                        except ValueError as exc:  # not JSON-RPC: the session reports it and goes on
                            message = exc
                        await incoming_writer.send(message)

    async def write() -> None:
        async with outgoing_reader:
            try:
                async for message in outgoing_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await stdin.send(data.encode() + b"\n")
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                await incoming_writer.aclose()  # the server is gone: let pending requests fail

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        tg.start_soon(write)
        try:
            yield incoming, outgoing
        finally:
            with anyio.CancelScope(shield=True):
                outgoing.close()
                await stop_process(process)
                incoming.close()
            tg.cancel_scope.cancel()


async def stop_process(process: Process) -> None:
    """Close stdin, give the server time to exit, then terminate its whole process group."""
    if process.stdin is not None:
        with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdin.aclose()
    if not await _exited(process, _EXIT_GRACE_SECONDS):
        from mcp.os.posix.utilities import terminate_posix_process_tree

        await terminate_posix_process_tree(process, _KILL_GRACE_SECONDS)
        await _exited(process, _KILL_GRACE_SECONDS)
    if process.stdout is not None:
        with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            await process.stdout.aclose()
    transport: Any = getattr(getattr(process, "_process", None), "_transport", None)
    close = getattr(transport, "close", None)
    if callable(close):  # asyncio keeps the subprocess transport open (and warns) otherwise
        with contextlib.suppress(PermissionError):
            close()


async def _exited(process: Process, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        # Not process.wait(): it also waits for the pipes to close, which a child may hold open.
        while process.returncode is None:  # noqa: ASYNC110
            await anyio.sleep(_POLL_SECONDS)
    return process.returncode is not None
