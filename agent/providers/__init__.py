"""Chat model clients: the OpenAI-compatible HTTP client and its wrappers.

Names are loaded on first use, so importing :mod:`agent.providers.base` (as the loop does) does
not import httpx; a run imports it while its MCP servers start.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.providers.base import ChatModel, DeltaCallback, DeltaKind, RoutedChatModel, route_of
    from agent.providers.factory import build_chat_model, model_groups
    from agent.providers.fallback_model import FallbackChatModel
    from agent.providers.openai_compat import OpenAICompatibleModel, create_http_client
    from agent.providers.retry_model import RetryingChatModel
    from agent.providers.retry_policy import retry_delay

_HOMES = {
    "ChatModel": "base",
    "DeltaCallback": "base",
    "DeltaKind": "base",
    "RoutedChatModel": "base",
    "route_of": "base",
    "build_chat_model": "factory",
    "model_groups": "factory",
    "FallbackChatModel": "fallback_model",
    "OpenAICompatibleModel": "openai_compat",
    "create_http_client": "openai_compat",
    "retry_delay": "retry_policy",
    "RetryingChatModel": "retry_model",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'agent.providers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"agent.providers.{home}"), name)
