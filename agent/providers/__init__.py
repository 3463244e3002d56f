"""Chat model clients: the OpenAI-compatible HTTP client and its wrappers."""
