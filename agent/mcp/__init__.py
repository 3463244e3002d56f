"""MCP connections, the manager that owns them, and conversion to the runtime's types."""
