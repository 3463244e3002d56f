"""SQLite MCP server: inspect a database and run read-only queries; writes only with ``--allow-writes``.

Run alone over stdio: ``python -m servers.sqlite DB_PATH [--allow-writes] [--timeout SECONDS]``.
Without ``--allow-writes`` the file must exist and nothing can change it. Every call runs on a
worker thread, so a slow statement never stalls the others; one that outlives its time limit is
stopped, or abandoned if SQLite is stuck inside a single step, and the model hears why in one line.
"""

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from servers._cli import OneLineParser, configure_logging, exit_with_error, tool_annotations

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["build_server", "main"]

_logger = logging.getLogger(__name__)


@contextmanager
def _as_tool_error() -> Iterator[None]:
    """Turn any failure into a one-line ``ToolError``: database errors as they are, others named."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except ToolError:
        raise
    except ValueError as exc:
        raise ToolError(str(exc)) from exc
    except Exception as exc:  # every failure reaches the model as one line, never a bare error
        lines = str(exc).strip().splitlines()
        described = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        _logger.warning("sqlite tool failed unexpectedly: %s", described)
        raise ToolError(f"unexpected error ({described})") from exc


async def _in_thread(call: Callable[[], str], *, timeout_seconds: float, writes: bool = False) -> str:
    """Run a database call on a worker thread, giving up on it a little after its time limit.

    The progress handler stops a statement at its time limit; waiting a little longer covers a
    single SQLite step (one function call on a large value) that cannot be interrupted. Such a
    thread is abandoned: it ends at its next step, and the model gets its answer now.
    """
    import anyio
    import anyio.to_thread
    from mcp.server.mcpserver.exceptions import ToolError

    with _as_tool_error():
        with anyio.move_on_after(timeout_seconds + min(5.0, timeout_seconds)):
            return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
        outcome = "; check whether the change took effect" if writes else ""
        raise ToolError(
            f"the statement ran longer than {timeout_seconds:g} s and could not be stopped in time; "
            f"it was abandoned{outcome}"
        )


def build_server(
    db_path: str | Path,
    *,
    allow_writes: bool = False,
    max_rows: int = 500,
    max_result_bytes: int | None = None,
    timeout_seconds: float = 30.0,
) -> "MCPServer":
    """Create the sqlite server for one database file; ``execute`` exists only if ``allow_writes``.

    ``max_result_bytes`` caps the JSON a query returns (default 256 KiB); ``timeout_seconds``
    limits each statement.

    Raises:
        ValueError: The file is missing (without ``allow_writes``) or is not a SQLite database.
    """
    from functools import partial

    from mcp.server.mcpserver import MCPServer
    from pydantic import Field

    from servers.sqlite_db import Database, SqlParam

    limits = {} if max_result_bytes is None else {"max_result_bytes": max_result_bytes}
    database = Database(
        db_path, allow_writes=allow_writes, max_rows=max_rows, timeout_seconds=timeout_seconds, **limits
    )
    access = "read-write (use execute to change data)" if allow_writes else "read-only"
    server = MCPServer(
        "sqlite",
        version="0.1.0",
        instructions=f"SQLite database {database.path.name}, {access}. "
        f"Start with list_tables or schema; query returns at most {max_rows} rows.",
        log_level="WARNING",
    )
    read = tool_annotations(read_only=True)
    Sql = Annotated[
        str, Field(description="One SQL statement (SQLite dialect); use ? placeholders for values")
    ]
    Params = Annotated[list[SqlParam] | None, Field(description="Values for the ? placeholders, in order")]

    @server.tool(annotations=read, structured_output=False)
    async def list_tables() -> str:
        """List the tables and views in the database."""
        return await _in_thread(database.list_tables, timeout_seconds=timeout_seconds)

    @server.tool(annotations=read, structured_output=False)
    async def describe_table(table: Annotated[str, Field(description="Table or view name")]) -> str:
        """Describe a table as JSON: columns (type, not null, default, primary key), indexes, foreign keys."""
        return await _in_thread(partial(database.describe_table, table), timeout_seconds=timeout_seconds)

    @server.tool(annotations=read, structured_output=False)
    async def schema() -> str:
        """Show the CREATE statements of every table, view, index and trigger."""
        return await _in_thread(database.schema, timeout_seconds=timeout_seconds)

    @server.tool(annotations=read, structured_output=False)
    async def query(sql: Sql, params: Params = None) -> str:
        """Run a read-only SQL statement (SELECT, WITH, read-only PRAGMA); returns JSON columns and rows."""
        return await _in_thread(partial(database.query, sql, params or ()), timeout_seconds=timeout_seconds)

    if not allow_writes:
        return server

    @server.tool(
        annotations=tool_annotations(read_only=False, destructive=True, idempotent=False),
        structured_output=False,
    )
    async def execute(sql: Sql, params: Params = None) -> str:
        """Run one SQL statement that changes the database (INSERT, UPDATE, DELETE, CREATE...), committed."""
        call = partial(database.execute, sql, params or ())
        return await _in_thread(call, timeout_seconds=timeout_seconds, writes=True)

    return server


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve over stdio until the client disconnects."""
    parser = OneLineParser(prog="servers.sqlite", description="SQLite MCP server over stdio.")
    parser.add_argument("db_path", metavar="DB_PATH", help="the SQLite database file")
    parser.add_argument(
        "--allow-writes", action="store_true", help="add the execute tool (creates a missing file)"
    )
    parser.add_argument("--max-rows", type=int, default=500, help="most rows query returns (default 500)")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds a statement may run (default 30)"
    )
    args = parser.parse_args(argv)
    if args.max_rows < 1:
        parser.error("--max-rows must be at least 1")
    if not args.timeout > 0:
        parser.error("--timeout must be more than 0 seconds")
    from servers.sqlite_guard import limit_process_heap

    limit_process_heap()  # this process serves one database: cap SQLite's memory as a whole
    configure_logging()
    try:
        server = build_server(
            args.db_path, allow_writes=args.allow_writes, max_rows=args.max_rows, timeout_seconds=args.timeout
        )
    except ValueError as exc:
        exit_with_error(parser.prog, str(exc))
    server.run()


if __name__ == "__main__":
    main()
