"""Configuration: provider YAML, MCP server config, ``${VAR}`` expansion and lookup order."""
