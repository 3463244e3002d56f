"""Calculator MCP server: exact arithmetic so models stop guessing at sums.

Run alone over stdio: ``python -m servers.calc``. The evaluator walks the expression's syntax
tree over a whitelist (no ``eval``) and keeps results exact as fractions wherever it can. It
runs on a worker thread under a time budget, so one slow expression never stalls other calls,
and every failure reaches the model as one line naming the problem.
"""

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

from servers._cli import OneLineParser, configure_logging, tool_annotations

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["build_server", "main"]

_logger = logging.getLogger(__name__)
_MAX_SHOWN_EXPRESSION = 80

_DESCRIPTION = """Evaluate an arithmetic expression exactly.

Supports + - * / // % ** (^ also means power), parentheses, unary minus, comparisons
(< <= == != >= >, giving true/false), the constants pi, e, tau, and the functions sqrt, abs,
round(x, digits), floor, ceil, min, max, log(x) (base 10) or log(x, base), ln, exp, sin, cos,
tan (radians), factorial, gcd, lcm. Decimals are exact (0.1 + 0.2 = 0.3); a fraction that does
not terminate is shown as p/q with a decimal approximation, and results that can only be
approximate (sqrt(2), sin(1)) start with ≈. Exact numbers are limited to 10,000 digits."""


def build_server() -> "MCPServer":
    """Create the calc server."""
    import anyio.to_thread
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import Field

    from servers.evaluator import MAX_LENGTH, CalcError, calculate

    server = MCPServer(
        "calc",
        version="0.1.0",
        instructions="Use evaluate for any arithmetic instead of computing it yourself.",
        log_level="WARNING",
    )

    @server.tool(
        annotations=tool_annotations(read_only=True), description=_DESCRIPTION, structured_output=False
    )
    async def evaluate(
        expression: Annotated[
            str,
            Field(
                description=f"The expression (at most {MAX_LENGTH} characters), e.g. '(1.5 + 2) * 3^2 / 7'"
            ),
        ],
    ) -> str:
        cannot = f"cannot evaluate {_shorten(expression)!r}"
        try:
            return await anyio.to_thread.run_sync(calculate, expression, abandon_on_cancel=True)
        except CalcError as exc:
            raise ToolError(f"{cannot}: {exc}") from exc
        except Exception as exc:  # every failure reaches the model as one line, never a bare error
            _logger.warning("evaluate failed unexpectedly: %s", _describe(exc))
            raise ToolError(f"{cannot}: unexpected error ({_describe(exc)})") from exc

    return server


def _shorten(expression: str) -> str:
    if len(expression) <= _MAX_SHOWN_EXPRESSION:
        return expression
    return expression[: _MAX_SHOWN_EXPRESSION - 3] + "..."


def _describe(exc: BaseException) -> str:
    """``TypeName: first line of the message`` (or just the type name when there is no message)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the (empty) command line and serve over stdio until the client disconnects."""
    parser = OneLineParser(prog="servers.calc", description="Calculator MCP server over stdio.")
    parser.parse_args(argv)
    configure_logging()
    build_server().run()


if __name__ == "__main__":
    main()
