"""The core every surface stands on: an :class:`~agent.core.agent.Agent` built from options.

``agent run``, ``query``, ``compare``, ``probe`` and the Python API all put a run together the
same way: options (:mod:`agent.options`) → endpoint (:mod:`~agent.core.endpoint`) → MCP servers
(:mod:`~agent.core.server_plan`) → chat model and capabilities → loop.
"""
