"""A chat model that sends a failed request again when the failure is transient.

The decision (whether, and after how long) is :func:`agent.providers.retry_policy.retry_delay`; this
wrapper only applies it: it announces each retry as a :class:`~agent.events.Retrying` event,
sleeps, and sends the same conversation again. A failed attempt returns nothing, so text it
streamed before failing is never part of the answer (the event says it was discarded).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import anyio

from agent.errors import ProviderError
from agent.events import Retrying
from agent.messages import ModelResponse
from agent.providers.base import ChatModel, DeltaCallback, DeltaKind, ModelCall, WrapperModel
from agent.providers.retry_policy import retry_delay

__all__ = ["RetryingChatModel"]


class RetryingChatModel(WrapperModel):
    """A chat model that retries ``inner`` on transient failures (it keeps no per-run state).

    Args:
        inner: the model to send requests to.
        max_retries: how many times one request may be sent again (0: never).
        sleep: waits the given seconds (inject a recorder in tests).
        rng: jitter source in [0, 1), passed to the retry policy.
    """

    def __init__(
        self,
        inner: ChatModel,
        *,
        max_retries: int,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must not be negative, got {max_retries}")
        super().__init__(inner)
        self.max_retries = max_retries
        self._sleep = sleep
        self._rng = rng

    def __repr__(self) -> str:
        return f"RetryingChatModel({self.inner!r}, max_retries={self.max_retries})"

    async def request(self, call: ModelCall) -> ModelResponse:
        """Send the request; on a retryable failure wait and send it again, up to ``max_retries`` times.

        Each retry is announced to the run as a :class:`~agent.events.Retrying` event.

        Raises:
            agent.errors.ProviderError: the last failure, when it is not retryable or retries ran out.
        """
        attempt = 0
        while True:
            attempt += 1
            relay = _Relay(call.on_delta)
            try:
                return await call.send(self.inner, on_delta=relay if call.on_delta is not None else None)
            except ProviderError as exc:
                delay = retry_delay(exc, attempt, max_retries=self.max_retries, rng=self._rng)
                if delay is None:
                    raise
                call.run.emit(
                    Retrying(
                        model=self.model_name,
                        attempt=attempt,
                        delay=delay,
                        error=str(exc),
                        discarded_partial=relay.fired,
                    )
                )
            await self._sleep(delay)


class _Relay:
    """Passes streamed fragments on, remembering whether any arrived during this attempt."""

    __slots__ = ("_target", "fired")

    def __init__(self, target: DeltaCallback | None) -> None:
        self._target = target
        self.fired = False

    def __call__(self, kind: DeltaKind, text: str) -> None:
        self.fired = True
        if self._target is not None:
            self._target(kind, text)
