"""The agent as an MCP server (``agent serve``): run_task, list_models and probe_models for MCP hosts.

See :mod:`agent.serve.server` (the tools and the server), :mod:`agent.serve.http` (streamable
HTTP, loopback unless allowed, bearer token) and :mod:`agent.serve.roots` (the host's roots as
the bundled fs server's directories). Importing this package imports the MCP SDK's server side.
"""

from agent.serve.server import build_server, serving
from agent.serve.tools import ServeSettings, ServeTools

__all__ = ["ServeSettings", "ServeTools", "build_server", "serving"]
