"""Compose the chat model of a run: HTTP client per group of models, retry around each, fallback over all.

For OpenRouter, the chain (primary, then fallbacks) is cut into groups of up to three models,
each sent as one request with the ``models`` routing array so OpenRouter falls back between
them server-side before the first token; a longer chain goes on client-side with the next
group. Other providers get one model per group. The CLI only calls :func:`build_chat_model`.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence

import anyio
import httpx

from agent.errors import ConfigError
from agent.providers.base import ChatModel
from agent.providers.fallback_model import FallbackChatModel
from agent.providers.openai_compat import MAX_ROUTE_MODELS, OpenAICompatibleModel
from agent.providers.retry_model import RetryingChatModel
from agent.providers.routing import RequestExtras

__all__ = ["build_chat_model", "model_groups"]


def model_groups(provider_name: str, model: str, fallbacks: Sequence[str]) -> list[list[str]]:
    """The chain ``model, *fallbacks`` (duplicates dropped) cut into the groups sent as one request each.

    Raises:
        ConfigError: a model id is empty.
    """
    chain: list[str] = []
    for position, name in enumerate([model, *fallbacks]):
        name = name.strip()
        if not name:
            where = "--model" if position == 0 else f"--fallback #{position}"
            raise ConfigError("a model id must not be empty", source=where)
        if name not in chain:
            chain.append(name)
    size = MAX_ROUTE_MODELS if provider_name == "openrouter" else 1
    return [chain[start : start + size] for start in range(0, len(chain), size)]


def build_chat_model(
    *,
    client: httpx.AsyncClient,
    provider_name: str,
    base_url: str,
    api_key: str | None,
    model: str,
    fallbacks: Sequence[str] = (),
    max_retries: int = 2,
    extra_headers: Mapping[str, str] | None = None,
    extras: RequestExtras | None = None,
    auto_fallback: bool = False,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    rng: Callable[[], float] = random.random,
) -> FallbackChatModel:
    """The chat model for a run: ``model`` first, then ``fallbacks``, each group retried on its own.

    Args:
        client: the run's pooled HTTP client (:func:`~agent.providers.openai_compat.create_http_client`).
        provider_name: ``"openrouter"`` groups up to three models per request.
        base_url: the API root, e.g. ``https://openrouter.ai/api/v1``.
        api_key: the bearer token, or ``None`` for endpoints without auth.
        model: the primary model id.
        fallbacks: model ids to hand a turn to, in order, when the ones before stay unavailable.
        max_retries: retries per group for transient failures (0: none).
        extra_headers: extra HTTP headers for every request.
        extras: OpenRouter's provider routing and reasoning for every request.
        auto_fallback: when a model fails naming models OpenRouter suggests instead
            (``error.availability.fallback_models``), hand the turn to them (see
            :class:`~agent.providers.fallback_model.FallbackChatModel`).
        sleep: waits between retries (inject in tests).
        rng: retry jitter source in [0, 1) (inject in tests).

    Raises:
        ConfigError: a model id is empty, or ``max_retries`` is negative.
    """
    if max_retries < 0:
        raise ConfigError(f"must not be negative, got {max_retries}", field="max_retries")

    def member(group: Sequence[str]) -> ChatModel:
        return RetryingChatModel(
            OpenAICompatibleModel(
                client,
                model=group[0],
                base_url=base_url,
                api_key=api_key,
                provider_name=provider_name,
                extra_headers=extra_headers,
                route_models=group,
                extras=extras,
            ),
            max_retries=max_retries,
            sleep=sleep,
            rng=rng,
        )

    members = [member(group) for group in model_groups(provider_name, model, fallbacks)]
    suggested = (lambda name: member([name])) if auto_fallback else None
    return FallbackChatModel(members, suggested=suggested)
