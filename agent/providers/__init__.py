"""Chat model clients: the OpenAI-compatible HTTP client and its wrappers."""

from agent.providers.base import ChatModel, DeltaCallback, DeltaKind, RoutedChatModel, route_of
from agent.providers.factory import build_chat_model, model_groups
from agent.providers.fallback import FallbackChatModel
from agent.providers.openai_compat import OpenAICompatibleModel, create_http_client
from agent.providers.retry import retry_delay
from agent.providers.retrying import RetryingChatModel

__all__ = [
    "ChatModel",
    "DeltaCallback",
    "DeltaKind",
    "FallbackChatModel",
    "OpenAICompatibleModel",
    "RetryingChatModel",
    "RoutedChatModel",
    "build_chat_model",
    "create_http_client",
    "model_groups",
    "retry_delay",
    "route_of",
]
