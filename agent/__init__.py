"""agent: an MCP tool-calling agent runtime for OpenRouter and any OpenAI-compatible API."""

__version__ = "0.1.0"
