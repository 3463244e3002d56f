"""What a run spends and may still spend: usage in total and per model, cost, and its limits.

A response's cost is what the provider reported (OpenRouter's ``usage.cost``: what it charged)
or, when it reported none, an estimate from the model's catalog prices; ``Usage.cost_source``
says which (``reported``, ``estimated``, or ``mixed`` in a sum of both).

Limits are checked *before* each request, on a worst case: the request's estimated prompt
tokens plus every token it may write. When the limits leave less than the model's own output
limit, the request asks for at most what they leave (``max_tokens``), as OpenRouter itself
advises for a key short of credits; when they leave fewer than :data:`MIN_OUTPUT_TOKENS`, the
request is not sent. Without a price, the cost limit can only be checked after each response
(the run may then go over it by one request).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from agent.messages import Usage

__all__ = [
    "MIN_OUTPUT_TOKENS",
    "Allowance",
    "Limit",
    "Price",
    "Prices",
    "Spending",
    "price_of",
    "priced",
    "usd",
    "worst_price",
]

MIN_OUTPUT_TOKENS = 16
"""A request that can afford fewer output tokens than this is not sent (some providers refuse a
smaller ``max_tokens``, and no useful answer or tool call fits in it)."""

Limit = Literal["max_cost", "max_tokens"]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per prompt token, per completion token and per request (as the catalog lists them)."""

    prompt: float
    completion: float
    request: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD for one request of this size."""
        return self.prompt * prompt_tokens + self.completion * completion_tokens + self.request


Prices = Mapping[str, Price | None]
"""The models a run's requests may reach (the model and its fallbacks) and their prices
(``None``: unknown)."""


def usd(amount: float) -> str:
    """``$1.25`` from a dollar up, four significant digits below (``$0.0125``, ``$0.00012``)."""
    return f"${amount:,.2f}" if abs(amount) >= 1 else f"${amount:.4g}"


def price_of(prices: Prices, model: str | None) -> Price | None:
    """The price of the model that answered: by its id, else by the id it was asked as.

    OpenRouter may name the answering model more precisely than it was asked for (a dated
    version), so an entry also matches when the answer starts with its id (without
    ``:variant``); an answer that matches none is priced as the first entry (the model asked).
    """
    if not prices:
        return None
    if model is not None:
        if model in prices:
            return prices[model]
        for known, price in prices.items():
            if model.startswith(known.split(":", 1)[0]):
                return price
    return next(iter(prices.values()))


def worst_price(prices: Prices) -> Price | None:
    """The highest price of each kind among ``prices``; None when any of them is unknown."""
    known = [price for price in prices.values() if price is not None]
    if not known or len(known) < len(prices):
        return None
    return Price(
        max(p.prompt for p in known), max(p.completion for p in known), max(p.request for p in known)
    )


def priced(usage: Usage, price: Price | None) -> Usage:
    """``usage`` with its cost: as reported, else estimated from ``price`` when it is known."""
    if usage.cost is not None or price is None:
        return usage
    cost = price.cost(usage.prompt_tokens, usage.completion_tokens)
    return usage.model_copy(update={"cost": cost, "cost_source": "estimated"})


@dataclass(frozen=True, slots=True)
class Allowance:
    """What the next request may do under the run's limits.

    Attributes:
        stop: the request is not sent: ``limit`` would be crossed (``reason`` says how).
        limit: the limit that stops the request, or that bounds ``max_output``.
        max_output: the ``max_tokens`` to ask for; None leaves the model's own limit.
        reason: one line for the user when ``stop``.
    """

    stop: bool = False
    limit: Limit | None = None
    max_output: int | None = None
    reason: str = ""


_UNLIMITED = Allowance()


class Spending:
    """One run's usage, in total and per model, against its limits.

    Responses to the run (and completions sampled for its tool calls' servers) are added with
    :meth:`add`; :meth:`allowance` says what the next request may cost, :meth:`crossed` whether
    a limit was reached.

    Args:
        max_cost: USD the run may spend.
        max_tokens: tokens (prompt and completion) the run may use.
    """

    def __init__(self, *, max_cost: float | None = None, max_tokens: int | None = None) -> None:
        self.max_cost = max_cost
        self.max_tokens = max_tokens
        self.total = Usage()
        self.by_model: dict[str, Usage] = {}

    @property
    def limited(self) -> bool:
        """Whether the run has a limit to check before its requests."""
        return self.max_cost is not None or self.max_tokens is not None

    def add(self, model: str, usage: Usage, price: Price | None = None) -> Usage:
        """Count one response by ``model``; returns its usage with the cost (estimated if need be)."""
        usage = priced(usage, price)
        self.total = self.total + usage
        known = self.by_model.get(model)
        self.by_model[model] = usage if known is None else known + usage
        return usage

    def allowance(self, prompt_tokens: int, price: Price | None, output_limit: int | None) -> Allowance:
        """What a request of about ``prompt_tokens`` may still ask for.

        Args:
            prompt_tokens: the request's estimated prompt tokens.
            price: the highest price the request may be charged at (None: unknown, so the cost
                limit is not checked before the request).
            output_limit: the most tokens the model would write unasked (its completion limit,
                or the room left in its context window), if known.
        """
        if not self.limited:
            return _UNLIMITED
        bound: int | None = None
        limit: Limit | None = None
        if self.max_tokens is not None:
            left = self.max_tokens - self.total.total_tokens
            room = left - prompt_tokens
            if room < MIN_OUTPUT_TOKENS:
                return Allowance(
                    stop=True,
                    limit="max_tokens",
                    reason=f"the next request needs about {prompt_tokens:,} prompt tokens and "
                    f"{max(left, 0):,} of the run's {self.max_tokens:,} tokens are left",
                )
            bound, limit = room, "max_tokens"
        if self.max_cost is not None and price is not None:
            left_usd = self.max_cost - (self.total.cost or 0.0)
            after_prompt = left_usd - price.prompt * prompt_tokens - price.request
            afford: int | None = None
            if price.completion > 0:
                # (a hair over the quotient, so that float rounding does not lose a whole token)
                afford = math.floor(after_prompt / price.completion + 1e-9) if after_prompt > 0 else 0
            elif after_prompt < 0:
                afford = 0
            if afford is not None and afford < MIN_OUTPUT_TOKENS:
                return Allowance(
                    stop=True,
                    limit="max_cost",
                    reason=f"the next request (about {prompt_tokens:,} prompt tokens) would cost at least "
                    f"{usd(price.cost(prompt_tokens, MIN_OUTPUT_TOKENS))} and {usd(max(left_usd, 0.0))} "
                    f"of the budget of ${self.max_cost:g} is left",
                )
            if afford is not None and (bound is None or afford < bound):
                bound, limit = afford, "max_cost"
        if bound is None or (output_limit is not None and bound >= output_limit):
            return _UNLIMITED
        return Allowance(limit=limit, max_output=bound)

    def crossed(self) -> Limit | None:
        """The limit the run has reached, if any (the cost limit only when a cost is known)."""
        if self.max_cost is not None and self.total.cost is not None and self.total.cost >= self.max_cost:
            return "max_cost"
        if self.max_tokens is not None and self.total.total_tokens >= self.max_tokens:
            return "max_tokens"
        return None
