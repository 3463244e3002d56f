"""A chat model over a chain of models: when one stays unavailable, the next answers the turn.

Only "this model cannot answer right now" failures hand the turn on: the provider is down or
overloaded (5xx, 408, 524, 529, 503 "no provider meets routing requirements"), rate limited,
unreachable, answered without a completion, or the model id has no endpoint (unknown,
retired, no tool support). Everything else is raised at once, because the next model would
fail the same way or the user has to act: a refused key (401) or missing credits (402) apply
to every model of the account; a moderation refusal (403) is about the input; a conversation
too long for the window is the loop's to compact; a rejected request (400/413/422) is a bug
or a setting to fix, and trying it on other models only spends money.

With ``auto_fallback``, a failure naming models OpenRouter suggests instead
(``error.availability.fallback_models``) also hands the turn on: to those models first (in
order, skipping any already tried or already in the chain, at most :data:`MAX_SUGGESTED` per
run), then to the rest of the chain. They stay in the run's chain for its later turns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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
from agent.run_context import RunContext

__all__ = ["HANDED_ON", "MAX_SUGGESTED", "FallbackChatModel", "answered_route"]

MAX_SUGGESTED = 3
"""The most models OpenRouter suggested that one run adds to its chain (``auto_fallback``)."""

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
        suggested: builds the member for a model OpenRouter suggests; given, a failure naming
            ``fallback_models`` hands the turn to them (``auto_fallback``).
    """

    def __init__(
        self,
        models: Sequence[ChatModel],
        *,
        sticky: bool = True,
        suggested: Callable[[str], ChatModel] | None = None,
    ) -> None:
        if not models:
            raise ValueError("FallbackChatModel needs at least one model")
        super().__init__(models[0])
        self.models = tuple(models)
        self.sticky = sticky
        self.suggested = suggested
        self._built: dict[str, ChatModel] = {}
        """Members built for suggested models, by id (stateless, so shared by every run)."""

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
        index = run.chain_start.get(id(self), 0)
        while True:
            chain = run.chains.get(id(self), self.models)
            member = chain[index]
            route = route_of(member)
            try:
                response = await call.send(member)
            except ProviderError as exc:
                run.note_tried(route)
                # An endpoint that cannot be reached at all fails every model behind it the same way.
                unreachable = is_unreachable(exc)
                added = [] if unreachable else self._adopt_suggestions(run, index, exc)
                chain = run.chains.get(id(self), self.models)
                if index == len(chain) - 1 or not (added or isinstance(exc, HANDED_ON)) or unreachable:
                    tried = [m for earlier in chain[: index + 1] for m in route_of(earlier)]
                    advised = with_advice(exc, tried=tried)
                    if advised is exc:
                        raise
                    raise advised from exc
                reason = str(exc)
                if added:
                    reason = f"{reason.rstrip('.')}; OpenRouter suggests {', '.join(added)}"
                run.emit(
                    FallingBack(
                        from_model=", ".join(route), to_model=chain[index + 1].model_name, error=reason
                    )
                )
                index += 1
                continue
            run.note_tried(answered_route(route, response.model))
            run.answered_by = response.model or member.model_name
            if self.sticky:
                run.chain_start[id(self)] = index
            return response

    def _adopt_suggestions(self, run: RunContext, index: int, error: ProviderError) -> list[str]:
        """Put the models ``error`` suggests right after member ``index`` of the run's chain.

        Only with ``suggested``; models already tried or in the chain are skipped, and a run
        adds at most :data:`MAX_SUGGESTED`. Returns the ids added.
        """
        if self.suggested is None or not error.fallback_models:
            return []
        chain = run.chains.get(id(self)) or list(self.models)
        room = MAX_SUGGESTED - (len(chain) - len(self.models))
        known = {*run.models_tried, *(m for member in chain for m in route_of(member))}
        added = [model for model in error.fallback_models if model not in known][: max(0, room)]
        if added:
            chain[index + 1 : index + 1] = [self._member(model) for model in added]
            run.chains[id(self)] = chain
        return added

    def _member(self, model: str) -> ChatModel:
        member = self._built.get(model)
        if member is None:
            assert self.suggested is not None
            member = self._built[model] = self.suggested(model)
        return member


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
