"""SQLite MCP server: inspect a database and run read-only queries; writes only with ``--allow-writes``.

Run alone over stdio: ``python -m servers.sqlite DB_PATH [--allow-writes]``. Without
``--allow-writes`` the file must exist and nothing can change it.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from servers._cli import OneLineParser, exit_with_error, tool_annotations

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["build_server", "main"]


@contextmanager
def _as_tool_error() -> Iterator[None]:
    """Turn a database error a model can fix into a ``ToolError``."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        yield
    except ValueError as exc:
        raise ToolError(str(exc)) from exc


def build_server(
    db_path: str | Path,
    *,
    allow_writes: bool = False,
    max_rows: int = 500,
    timeout_seconds: float = 30.0,
) -> "MCPServer":
    """Create the sqlite server for one database file; ``execute`` exists only if ``allow_writes``.

    Raises:
        ValueError: The file is missing (without ``allow_writes``) or is not a SQLite database.
    """
    from mcp.server.mcpserver import MCPServer
    from pydantic import Field

    from servers.sqlite_db import Database, SqlParam

    database = Database(
        db_path, allow_writes=allow_writes, max_rows=max_rows, timeout_seconds=timeout_seconds
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
    def list_tables() -> str:
        """List the tables and views in the database."""
        with _as_tool_error():
            return database.list_tables()

    @server.tool(annotations=read, structured_output=False)
    def describe_table(table: Annotated[str, Field(description="Table or view name")]) -> str:
        """Describe a table as JSON: columns (type, not null, default, primary key), indexes, foreign keys."""
        with _as_tool_error():
            return database.describe_table(table)

    @server.tool(annotations=read, structured_output=False)
    def schema() -> str:
        """Show the CREATE statements of every table, view, index and trigger."""
        with _as_tool_error():
            return database.schema()

    @server.tool(annotations=read, structured_output=False)
    def query(sql: Sql, params: Params = None) -> str:
        """Run a read-only SQL statement (SELECT, WITH, read-only PRAGMA); returns JSON columns and rows."""
        with _as_tool_error():
            return database.query(sql, params or ())

    if not allow_writes:
        return server

    @server.tool(
        annotations=tool_annotations(read_only=False, destructive=True, idempotent=False),
        structured_output=False,
    )
    def execute(sql: Sql, params: Params = None) -> str:
        """Run one SQL statement that changes the database (INSERT, UPDATE, DELETE, CREATE...), committed."""
        with _as_tool_error():
            return database.execute(sql, params or ())

    return server


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve over stdio until the client disconnects."""
    parser = OneLineParser(prog="servers.sqlite", description="SQLite MCP server over stdio.")
    parser.add_argument("db_path", metavar="DB_PATH", help="the SQLite database file")
    parser.add_argument(
        "--allow-writes", action="store_true", help="add the execute tool (creates a missing file)"
    )
    parser.add_argument("--max-rows", type=int, default=500, help="most rows query returns (default 500)")
    args = parser.parse_args(argv)
    if args.max_rows < 1:
        parser.error("--max-rows must be at least 1")
    try:
        server = build_server(args.db_path, allow_writes=args.allow_writes, max_rows=args.max_rows)
    except ValueError as exc:
        exit_with_error(parser.prog, str(exc))
    server.run()


if __name__ == "__main__":
    main()
