"""What a run is set up with: its options per model, and the overrides one run may bring.

:func:`run_options_for` turns the agent's options and a resolved model into the loop's
:class:`~agent.loop.RunOptions` (the protocol, the schema profile and prices of the model and its
fallbacks, the context window, caching, the output schema). The rest checks what a single
``Agent.run`` may override, and words an unknown model's error with the catalog's suggestions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent.errors import ConfigError, ModelNotFoundError
from agent.options import AgentOptions, parse_options

if TYPE_CHECKING:
    from agent.budget import Price
    from agent.core.endpoint import Endpoint
    from agent.events import Event
    from agent.loop import RunOptions
    from agent.models.capabilities import ModelCapabilities
    from agent.models.catalog import Catalog
    from agent.models.resolution import ResolvedModel
    from agent.structured import OutputSchema

__all__ = [
    "add_price",
    "given_opening",
    "opening_options",
    "overridden",
    "run_options_for",
    "with_suggestions",
]


def run_options_for(
    agent_options: AgentOptions,
    endpoint: Endpoint,
    resolved: ResolvedModel,
    *,
    primary: str,
    output_schema: OutputSchema | None,
    emit: Callable[[Event], None],
) -> RunOptions:
    """The run options of the agent's runs on ``resolved``; ``emit`` hears what is not sent.

    ``primary`` is the agent's own model: its fallbacks answer its requests too.
    """
    from agent.core.extras import prompt_cache_on
    from agent.loop import RunOptions
    from agent.schema_shapes import strictest

    options, config = agent_options, endpoint.provider.config
    caps = resolved.capabilities
    protocol = caps.tool_protocol if options.protocol == "auto" else options.protocol
    tool_choice = options.tool_choice
    if tool_choice is not None and protocol == "native" and not caps.allows_tool_choice(tool_choice):
        from agent.events import Notice

        emit(Notice(message=f"{caps.model} does not take tool_choice={tool_choice}; not sending it"))
        tool_choice = None
    # Fallbacks answer the primary's requests (same tools): the schemas must suit every model,
    # and the run's budget is checked at the highest of their prices.
    catalog = resolved.catalog
    schema_profiles = [caps.tool_schema_profile]
    prices: dict[str, Price | None] = {}
    add_price(prices, caps, catalog)
    if caps.model == primary and (chain := [*options.fallbacks, *config.fallback_models]):
        from agent.models.capabilities import resolve
        from agent.models.overrides import find_overrides

        overrides = find_overrides(endpoint.cwd, endpoint.env, endpoint.config_dir)
        for member in chain:
            entry = catalog.lookup(member) if catalog is not None else None
            member_caps = resolve(member, catalog_entry=entry, above=overrides.layers_for(member))
            schema_profiles.append(member_caps.tool_schema_profile)
            add_price(prices, member_caps, catalog)
    run_options = RunOptions(
        max_turns=options.max_turns,
        max_cost=options.max_cost,
        max_total_tokens=options.max_total_tokens,
        timeout=options.timeout,
        tool_timeout=options.tool_timeout,
        stream=options.stream,
        tool_choice=tool_choice,
        system=options.system,
        context_window=resolved.context_window(config.context_window),
        reserve_tokens=config.reserve_tokens,
        protocol=protocol,
        tool_schema_profile=strictest(schema_profiles),
        image_input=bool(caps.image_input),
        audio_input=bool(caps.audio_input),
        max_output_tokens=caps.max_completion_tokens,
        prices=prices,
        cache_prompt=prompt_cache_on(options, config) and bool(caps.cache_breakpoints),
        output_schema=output_schema,
        schema_in_request=caps.structured_outputs is not False,
    )
    if options.max_tool_output is not None:
        run_options = dataclasses.replace(run_options, max_tool_output_chars=options.max_tool_output)
    return run_options


def add_price(prices: dict[str, Price | None], caps: ModelCapabilities, catalog: Catalog | None) -> None:
    """Note the price of ``caps.model`` (None: unknown), also under its catalog id if it differs.

    An alias (``~anthropic/claude-sonnet-latest``) is answered by the model it stands for, and
    responses name that one.
    """
    from agent.budget import Price

    price: Price | None = None
    if caps.free:
        price = Price(0.0, 0.0)
    elif caps.prompt_price is not None and caps.completion_price is not None:
        price = Price(float(caps.prompt_price), float(caps.completion_price), float(caps.request_price or 0))
    prices.setdefault(caps.model, price)
    entry = catalog.lookup(caps.model) if catalog is not None else None
    if entry is not None:
        prices.setdefault(entry.id, price)


def with_suggestions(error: ModelNotFoundError, suggestions: tuple[str, ...]) -> ModelNotFoundError:
    """``error`` naming the catalog ids close to the refused one, in place of the generic advice."""
    head = error.message.split("; look it up with", 1)[0].split(". The model id", 1)[0].rstrip(". ")
    choices = " or ".join(suggestions)
    return error.reworded(f"{head}; did you mean {choices}? (`agent models --search` lists the ids)")


_PER_RUN = ("max_turns", "max_cost", "max_total_tokens", "timeout", "tool_timeout", "stream", "system")
_OPENING = (
    "resources",
    "server_prompt",
    "prompt_args",
    "no_session",
    "continue_session",
    "resume",
    "transcript",
)
"""Options a run may have of its own that are not limits: how it opens and where it is kept."""


def opening_options(options: AgentOptions, overrides: dict[str, Any]) -> tuple[AgentOptions, dict[str, Any]]:
    """``options`` with one run's own resources and server prompt, and the other overrides."""
    own = {name: value for name, value in overrides.items() if name in _OPENING}
    rest = {name: value for name, value in overrides.items() if name not in _OPENING}
    if own:
        checked = parse_options(own)
        options = dataclasses.replace(options, **{name: getattr(checked, name) for name in own})
    return options, rest


def given_opening(options: AgentOptions) -> dict[str, Any]:
    """The resources and server prompt of ``options`` as run overrides."""
    return {name: getattr(options, name) for name in _OPENING}


def overridden(options: RunOptions, overrides: dict[str, Any]) -> RunOptions:
    """``options`` with one run's own values (checked like the agent's options)."""
    unknown = [name for name in overrides if name not in _PER_RUN]
    if unknown:
        raise ConfigError(f"a run cannot override {unknown[0]!r}; it can: {', '.join(_PER_RUN)}")
    checked = parse_options(overrides)
    return dataclasses.replace(options, **{name: getattr(checked, name) for name in overrides})
