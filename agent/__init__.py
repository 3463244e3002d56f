"""agent: an MCP tool-calling agent runtime for OpenRouter and any OpenAI-compatible API.

The public API is listed in ``__all__``; names load on first use, so ``import agent`` stays
cheap (the CLI's ``--help`` imports neither httpx nor the MCP SDK).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from agent.config.servers import HttpServerConfig, ServerConfig, StdioServerConfig
    from agent.core.agent import Agent
    from agent.errors import (
        AgentError,
        AuthenticationError,
        ConfigError,
        ContextLengthError,
        InsufficientCreditsError,
        McpError,
        ModelNotFoundError,
        NoToolEndpointsError,
        ProviderError,
        RateLimitError,
        ServerStartError,
    )
    from agent.events import Event, EventSink
    from agent.loop import RunOptions, run_agent
    from agent.mcp.manager import McpManager
    from agent.mcp.oauth import AuthorizationPrompt, OAuthOptions
    from agent.mcp.report import ServerReport
    from agent.messages import (
        AssistantMessage,
        Message,
        ModelResponse,
        SystemMessage,
        ToolCall,
        ToolMessage,
        ToolSpec,
        Usage,
        UserMessage,
    )
    from agent.options import AgentOptions
    from agent.providers.base import ChatModel
    from agent.providers.embeddings import Embeddings
    from agent.providers.factory import build_chat_model
    from agent.providers.openai_compat import OpenAICompatibleModel, create_http_client
    from agent.result import RunResult, ToolCallRecord
    from agent.run_context import RunContext
    from agent.tools import ToolInfo, ToolOutcome, Toolset

_HOMES = {
    "Agent": "agent.core.agent",
    "AgentOptions": "agent.options",
    "ServerReport": "agent.mcp.report",
    "RunContext": "agent.run_context",
    "HttpServerConfig": "agent.config.servers",
    "ServerConfig": "agent.config.servers",
    "StdioServerConfig": "agent.config.servers",
    "AgentError": "agent.errors",
    "AuthenticationError": "agent.errors",
    "ConfigError": "agent.errors",
    "ContextLengthError": "agent.errors",
    "InsufficientCreditsError": "agent.errors",
    "McpError": "agent.errors",
    "ModelNotFoundError": "agent.errors",
    "NoToolEndpointsError": "agent.errors",
    "ProviderError": "agent.errors",
    "RateLimitError": "agent.errors",
    "ServerStartError": "agent.errors",
    "Event": "agent.events",
    "EventSink": "agent.events",
    "RunOptions": "agent.loop",
    "run_agent": "agent.loop",
    "McpManager": "agent.mcp.manager",
    "AuthorizationPrompt": "agent.mcp.oauth",
    "OAuthOptions": "agent.mcp.oauth",
    "AssistantMessage": "agent.messages",
    "Message": "agent.messages",
    "ModelResponse": "agent.messages",
    "SystemMessage": "agent.messages",
    "ToolCall": "agent.messages",
    "ToolMessage": "agent.messages",
    "ToolSpec": "agent.messages",
    "Usage": "agent.messages",
    "UserMessage": "agent.messages",
    "ChatModel": "agent.providers.base",
    "Embeddings": "agent.providers.embeddings",
    "build_chat_model": "agent.providers.factory",
    "OpenAICompatibleModel": "agent.providers.openai_compat",
    "create_http_client": "agent.providers.openai_compat",
    "RunResult": "agent.result",
    "ToolCallRecord": "agent.result",
    "ToolInfo": "agent.tools",
    "ToolOutcome": "agent.tools",
    "Toolset": "agent.tools",
}

__all__ = [
    "Agent",
    "AgentError",
    "AgentOptions",
    "AssistantMessage",
    "AuthenticationError",
    "AuthorizationPrompt",
    "ChatModel",
    "ConfigError",
    "ContextLengthError",
    "Embeddings",
    "Event",
    "EventSink",
    "HttpServerConfig",
    "InsufficientCreditsError",
    "McpError",
    "McpManager",
    "Message",
    "ModelNotFoundError",
    "ModelResponse",
    "NoToolEndpointsError",
    "OAuthOptions",
    "OpenAICompatibleModel",
    "ProviderError",
    "RateLimitError",
    "RunContext",
    "RunOptions",
    "RunResult",
    "ServerConfig",
    "ServerReport",
    "ServerStartError",
    "StdioServerConfig",
    "SystemMessage",
    "ToolCall",
    "ToolCallRecord",
    "ToolInfo",
    "ToolMessage",
    "ToolOutcome",
    "ToolSpec",
    "Toolset",
    "Usage",
    "UserMessage",
    "__version__",
    "build_chat_model",
    "create_http_client",
    "run_agent",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'agent' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
