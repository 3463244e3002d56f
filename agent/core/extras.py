"""What an agent's requests to one model carry besides the conversation: routing and reasoning.

The options and the provider file say what the user wants (:mod:`agent.providers.routing`);
the model's capabilities say what it takes. An option the model does not take is not sent,
and the user hears so once, as for ``tool_choice``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from agent.providers.routing import RequestExtras, request_extras

if TYPE_CHECKING:
    from agent.config.providers import ProviderSettings
    from agent.models.capabilities import ModelCapabilities
    from agent.options import AgentOptions

__all__ = ["extras_for", "prompt_cache_on"]


def extras_for(
    options: AgentOptions, config: ProviderSettings, caps: ModelCapabilities
) -> tuple[RequestExtras, list[str]]:
    """The routing and reasoning of requests to ``caps.model``, and what the user should hear.

    Raises:
        ConfigError: an option or the provider file's ``provider``/``reasoning`` is wrong.
    """
    extras = request_extras(options, config.provider, config.reasoning)
    notes: list[str] = []
    if extras.reasoning and caps.reasoning is False:
        notes.append(
            f"{caps.model} does not take reasoning options (its catalog lists no reasoning parameter); "
            "not sending them"
        )
        extras = dataclasses.replace(extras, reasoning=None)
    return extras, notes


def prompt_cache_on(options: AgentOptions, config: ProviderSettings) -> bool:
    """Whether runs mark cache breakpoints and keep to one provider (``--cache``, ``prompt_cache``)."""
    return options.prompt_cache and config.prompt_cache
