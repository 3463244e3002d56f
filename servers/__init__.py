"""Bundled MCP servers, each runnable alone over stdio (``python -m servers.NAME``)."""
