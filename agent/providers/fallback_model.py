"""A chat model over a chain of models: when one stays unavailable, the next answers the turn.

Only "this model cannot answer right now" failures hand the turn on: the provider is down or
overloaded (5xx, 408, 524, 529, 503 "no provider meets routing requirements"), rate limited,
unreachable, answered without a completion, or the model id has no endpoint (unknown,
retired, no tool support). Everything else is raised at once, because the next model would
fail the same way or the user has to act: a refused key (401) or missing credits (402) apply
to every model of the account; a moderation refusal (403) is about the input; a conversation
too long for the window is the loop's to compact; a rejected request (400/413/422) is a bug
or a setting to fix, and trying it on other models only spends money.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.errors import (
    BadResponseError,
    ModelNotFoundError,
    NoToolEndpointsError,
    ProviderConnectionError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
)
from agent.events import FallingBack
from agent.messages import ModelResponse
from agent.providers.advice import with_advice
from agent.providers.base import ChatModel, ModelCall, WrapperModel, route_of
from agent.providers.http_errors import is_unreachable

__all__ = ["HANDED_ON", "FallbackChatModel", "answered_route"]

HANDED_ON: tuple[type[ProviderError], ...] = (
    ProviderUnavailableError,
    RateLimitError,
    ProviderConnectionError,
    BadResponseError,
    ModelNotFoundError,
    NoToolEndpointsError,
)
"""Failures after which the next model of the chain gets the turn."""


class FallbackChatModel(WrapperModel):
    """A chat model that tries ``models`` in order for each request (it keeps no per-run state).

    Each member should already retry on its own (see
    :class:`~agent.providers.retry_model.RetryingChatModel`); a member that still fails with one
    of :data:`HANDED_ON` passes the turn to the next, announced by a
    :class:`~agent.events.FallingBack` event. The final error (a failure not handed on, or the
    last member's) is raised with advice appended (see :func:`~agent.providers.advice.with_advice`).

    With ``sticky`` (the default), a later request of the same run starts at the member that
    answered last, so a model found down is not waited on again every turn. Who was asked and
    who answered is recorded on the run (:attr:`RunContext.models_tried`,
    :attr:`RunContext.answered_by`).

    Args:
        models: the chain, primary first; at least one.
        sticky: start later requests of a run at the member that answered last.
    """

    def __init__(self, models: Sequence[ChatModel], *, sticky: bool = True) -> None:
        if not models:
            raise ValueError("FallbackChatModel needs at least one model")
        super().__init__(models[0])
        self.models = tuple(models)
        self.sticky = sticky

    def __repr__(self) -> str:
        return f"FallbackChatModel({list(self.models)!r}, sticky={self.sticky})"

    @property
    def route_models(self) -> tuple[str, ...]:
        """The first member's route (what one request may reach before the chain moves on)."""
        return route_of(self.models[0])

    async def request(self, call: ModelCall) -> ModelResponse:
        """Ask each member in turn until one answers.

        Raises:
            agent.errors.ProviderError: a failure that is not handed on, or the last member's
                failure; its message ends with advice.
        """
        run = call.run
        last = len(self.models) - 1
        for index in range(run.chain_start.get(id(self), 0), len(self.models)):
            member = self.models[index]
            route = route_of(member)
            try:
                response = await call.send(member)
            except ProviderError as exc:
                run.note_tried(route)
                # An endpoint that cannot be reached at all fails every model behind it the same way.
                if index == last or not isinstance(exc, HANDED_ON) or is_unreachable(exc):
                    chain = [m for earlier in self.models[: index + 1] for m in route_of(earlier)]
                    advised = with_advice(exc, tried=chain)
                    if advised is exc:
                        raise
                    raise advised from exc
                run.emit(
                    FallingBack(
                        from_model=", ".join(route),
                        to_model=self.models[index + 1].model_name,
                        error=str(exc),
                    )
                )
                continue
            run.note_tried(answered_route(route, response.model))
            run.answered_by = response.model or member.model_name
            if self.sticky:
                run.chain_start[id(self)] = index
            return response
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def answered_route(route: Sequence[str], answered: str | None) -> list[str]:
    """The models of ``route`` a successful request went through: up to the one that ``answered``.

    OpenRouter may name the answering model more precisely than it was requested (a dated
    version, no ``:variant`` suffix), so a route entry also matches when the answer starts with
    its id without the suffix. An answer that matches no entry is credited to the first.
    """
    if not route:
        return [answered] if answered else []
    if answered is None:
        return [route[0]]
    for position, model in enumerate(route):
        if answered == model:
            return list(route[: position + 1])
    for position, model in enumerate(route):
        if answered.startswith(model.split(":", 1)[0]):
            return list(route[: position + 1])
    return [route[0]]
