"""The conformance clients' zygote: one process past the imports that forks a client per scenario.

The suite runs its client command once per scenario (about 75 per CI run, many at once), and
each client imports the runtime and the MCP SDK (the runtime imports the SDK when it first
connects): 1.5 s of CPU each, most of the step's CPU on a 2-core CI machine. Here they are
imported once; each scenario's launcher (:mod:`tests.conformance.launch`) gets a fork that runs
:func:`tests.conformance.client.main` as ``python -m tests.conformance.client`` would.

``python -m tests.conformance.zygote SOCKET`` prints ``ready`` once it listens.
"""

from __future__ import annotations

import pkgutil
import sys

import agent.mcp
from tests import forking
from tests.conformance import client

PRELOAD = (
    "mcp",
    "mcp.client.streamable_http",
    "mcp.client.auth",
    "mcp.shared.auth",
    "httpx",
    *(module.name for module in pkgutil.iter_modules(agent.mcp.__path__, "agent.mcp.")),
)
"""What every client would import on its own when it connects."""


def run_client(argv: list[str]) -> int:
    sys.argv = [str(client.__file__), *argv]
    return client.main()


if __name__ == "__main__":
    forking.serve(sys.argv[1], PRELOAD, run_client)
