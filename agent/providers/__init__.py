"""Chat model clients: the OpenAI-compatible HTTP client and its wrappers."""

from agent.providers.base import ChatModel, DeltaCallback, DeltaKind
from agent.providers.openai_compat import OpenAICompatibleModel, create_http_client

__all__ = ["ChatModel", "DeltaCallback", "DeltaKind", "OpenAICompatibleModel", "create_http_client"]
