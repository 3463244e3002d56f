"""Filesystem MCP server sandboxed to the directories named on the command line.

Run alone over stdio: ``python -m servers.fs ROOT [ROOT...] [--allow-writes]`` (no roots: the
current directory). Read-only unless ``--allow-writes``: ``write_file`` and ``edit_file`` are not
even listed without it. Relative paths resolve against the first root; anything that leads
outside the roots, by ``..``, an absolute path or a symlink, is refused.

Every tool is wrapped by :func:`servers.fs_errors.tool_errors`, so whatever goes wrong reaches
the model as one line. Tools are sync and the SDK runs each call in a worker thread, so a slow
call never holds up the others.
"""

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from servers._cli import OneLineParser, configure_logging, exit_with_error, tool_annotations
from servers.fs_errors import tool_errors
from servers.sandbox import Sandbox

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["build_server", "main"]

_PATH_HELP = "File or directory path: relative to the first allowed directory, or absolute inside one"
_EDIT_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "description": "Replacements applied in order; each old_text must occur exactly once in the file",
    "items": {
        "type": "object",
        "properties": {
            "old_text": {"type": "string", "description": "Exact text to find (copy it from read_file)"},
            "new_text": {"type": "string", "description": "Text to put in its place"},
        },
        "required": ["old_text", "new_text"],
        "additionalProperties": False,
    },
}


def build_server(roots: Sequence[str | os.PathLike[str]] = (), *, allow_writes: bool = False) -> "MCPServer":
    """Create the fs server for ``roots`` (default: the current directory); writes only if ``allow_writes``.

    Raises:
        ValueError: A root does not exist or is not a directory.
    """
    from mcp.server.mcpserver import MCPServer
    from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

    from servers import fs_ops
    from servers.fs_edit import TextEdit
    from servers.fs_regex import REGEX_SECONDS

    sandbox = Sandbox(roots)
    mode = "read-write" if allow_writes else "read-only"
    server = MCPServer(
        "fs",
        version="0.1.0",
        instructions=f"{mode.capitalize()} access to files under: {sandbox.describe_roots()}. "
        "Relative paths start at the first of these directories.",
        log_level="WARNING",
    )
    read = tool_annotations(read_only=True)
    PathArg = Annotated[str, Field(description=_PATH_HELP)]

    @server.tool(annotations=read, structured_output=False)
    @tool_errors
    def list_allowed_directories() -> str:
        """List the directories this server may access; relative paths start at the first one."""
        return "\n".join(str(root) for root in sandbox.roots)

    @server.tool(annotations=read, structured_output=False)
    @tool_errors
    def list_directory(path: Annotated[str, Field(description=_PATH_HELP)] = ".") -> str:
        """List a directory: one line per entry ([dir], [file] with its size, [link] for a symbolic link)."""
        return fs_ops.list_directory(sandbox, path)

    @server.tool(annotations=read, structured_output=False)
    @tool_errors
    def read_file(
        path: PathArg,
        offset: Annotated[int, Field(ge=1, description="First line to return (1-based)")] = 1,
        limit: Annotated[int | None, Field(ge=1, description="Most lines to return; omit for all")] = None,
    ) -> str:
        """Read a UTF-8 text file, whole or a range of lines; long lines are cut, binary files refused."""
        return fs_ops.read_file(sandbox, path, offset, limit)

    @server.tool(annotations=read, structured_output=False)
    @tool_errors
    def search_files(
        pattern: Annotated[
            str,
            Field(description="Glob: '*.py' matches names at any depth; 'src/**/*.py' matches paths"),
        ],
        path: Annotated[str, Field(description="Directory to search in")] = ".",
        content: Annotated[
            str | None, Field(description="Only files containing this text (per line)")
        ] = None,
        regex: Annotated[
            bool,
            Field(
                description=f"Treat content as a Python regular expression (up to {REGEX_SECONDS:g} s a file)"
            ),
        ] = False,
        max_results: Annotated[int, Field(ge=1, le=fs_ops.MAX_RESULTS, description="Result cap")] = 100,
        include_hidden: Annotated[
            bool, Field(description="Also search dot-files and dot-directories")
        ] = False,
    ) -> str:
        """Find files by glob under a directory, optionally only lines containing some text or regex."""
        return fs_ops.search_files(sandbox, pattern, path, content, regex, max_results, include_hidden)

    @server.tool(annotations=read, structured_output=False)
    @tool_errors
    def file_info(path: PathArg) -> str:
        """Show a file's or directory's type, size, modification time and permissions."""
        return fs_ops.file_info(sandbox, path)

    if not allow_writes:
        return server

    class Edit(BaseModel):
        model_config = ConfigDict(extra="forbid")
        old_text: str
        new_text: str

    @server.tool(annotations=tool_annotations(read_only=False, destructive=True), structured_output=False)
    @tool_errors
    def write_file(
        path: PathArg,
        content: Annotated[str, Field(description="The complete new content of the file")],
    ) -> str:
        """Create a text file or replace its entire content; missing parent directories are created."""
        return fs_ops.write_file(sandbox, path, content)

    @server.tool(
        annotations=tool_annotations(read_only=False, destructive=True, idempotent=False),
        structured_output=False,
    )
    @tool_errors
    def edit_file(
        path: PathArg,
        edits: Annotated[list[Edit], WithJsonSchema(_EDIT_SCHEMA)],
        dry_run: Annotated[bool, Field(description="Only show the diff; write nothing")] = False,
    ) -> str:
        """Replace exact text in a file (all edits or none) and return a unified diff of the change."""
        changes = [TextEdit(edit.old_text, edit.new_text) for edit in edits]
        return fs_ops.edit_file(sandbox, path, changes, dry_run)

    return server


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve over stdio until the client disconnects."""
    parser = OneLineParser(prog="servers.fs", description="Filesystem MCP server over stdio.")
    parser.add_argument("roots", nargs="*", metavar="ROOT", help="allowed directories (default: current)")
    access = parser.add_mutually_exclusive_group()
    access.add_argument("--allow-writes", action="store_true", help="add write_file and edit_file")
    access.add_argument(
        "--read-only", action="store_true", help="no write tools (the default; kept for old configs)"
    )
    args = parser.parse_args(argv)
    configure_logging()
    try:
        server = build_server(args.roots, allow_writes=args.allow_writes)
    except ValueError as exc:
        exit_with_error(parser.prog, str(exc))
    server.run()


if __name__ == "__main__":
    main()
