"""Embeddings: texts to vectors through ``POST {base_url}/embeddings`` (OpenAI-style, as OpenRouter).

Texts go out in batches of ``batch_size``, a few batches at a time, and come back in input
order whatever order the batches finish in. Each batch is retried on transient failures as a
chat request is (:func:`~agent.providers.retry_policy.retry_delay`), and fails with the same
typed :class:`~agent.errors.ProviderError` (401 and 402 exit 4, an unknown model names it). The
answer is read within :data:`MAX_BODY_SIZE` and checked: one embedding per input, each ``index``
in range and given once, each vector finite numbers (a base64 vector is decoded), all of one
length; anything else is a :class:`~agent.errors.BadResponseError` naming what was wrong.
"""

from __future__ import annotations

import array
import base64
import binascii
import json
import math
import random
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from agent import safe_json
from agent.errors import BadResponseError, ConfigError, ProviderError, ResponseLimitError
from agent.messages import Usage
from agent.providers.http_body import read_body
from agent.providers.http_errors import connection_error, error_from_body, error_from_response
from agent.providers.openai_compat import MAX_BODY_SIZE, MAX_ERROR_BODY_SIZE, request_headers
from agent.providers.retry_policy import retry_delay

__all__ = ["DEFAULT_BATCH_SIZE", "DEFAULT_CONCURRENCY", "Embeddings", "embed_texts"]

DEFAULT_BATCH_SIZE = 64
"""Texts per request: well under providers' per-request input limits (OpenAI takes 2048)."""
DEFAULT_CONCURRENCY = 4
"""Requests in flight at once."""


@dataclass(frozen=True, slots=True)
class Embeddings:
    """The vectors of some texts, in the order the texts were given.

    Attributes:
        vectors: one vector per input text, in input order.
        model: the model that answered (as the endpoint named it).
        usage: tokens and cost summed over every request (``completion_tokens`` is 0).
        requests: how many requests (batches) were sent, retries not counted.
    """

    vectors: list[list[float]]
    model: str
    usage: Usage
    requests: int

    @property
    def dimensions(self) -> int | None:
        """The length of the vectors (None when there are none)."""
        return len(self.vectors[0]) if self.vectors else None

    @property
    def cost(self) -> float | None:
        """USD charged, as the endpoint reported it (None: not reported)."""
        return self.usage.cost


async def embed_texts(
    client: httpx.AsyncClient,
    texts: Sequence[str],
    *,
    model: str,
    base_url: str,
    api_key: str | None,
    dimensions: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_retries: int = 2,
    extra_headers: Mapping[str, str] | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    rng: Callable[[], float] = random.random,
) -> Embeddings:
    """The embedding of each of ``texts`` by ``model``, in input order.

    Args:
        client: the agent's pooled HTTP client.
        texts: the texts, each non-empty.
        model: the embedding model id (e.g. ``openai/text-embedding-3-small``).
        base_url: the API root, e.g. ``https://openrouter.ai/api/v1``.
        api_key: sent as a bearer token; never shown in an error.
        dimensions: ask for vectors of this length (models that support it shorten theirs).
        batch_size: texts per request.
        concurrency: requests in flight at once.
        max_retries: retries per request for transient failures (0: none).
        extra_headers: added to (and overriding) the default headers.
        sleep: waits between retries (inject in tests).
        rng: retry jitter source in [0, 1) (inject in tests).

    Raises:
        ConfigError: no texts, an empty text, or a bad model, size or count.
        agent.errors.ProviderError: a request failed (after retries) or its answer is not a
            valid embeddings response; the first failure ends the whole call.
    """
    _check(texts, model, dimensions, batch_size, concurrency, max_retries)
    batches = [list(texts[start : start + batch_size]) for start in range(0, len(texts), batch_size)]
    sender = _Sender(client, model, base_url, api_key, dimensions, extra_headers, max_retries, sleep, rng)
    answers: list[_Answer | None] = [None] * len(batches)
    failures: list[ProviderError] = []
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(number: int, batch: list[str]) -> None:
        async with limiter:
            try:
                answers[number] = await sender.send(batch)
            except ProviderError as exc:
                failures.append(exc)
                tg.cancel_scope.cancel()

    async with anyio.create_task_group() as tg:
        for number, batch in enumerate(batches):
            tg.start_soon(one, number, batch)
    if failures:
        raise failures[0]
    vectors: list[list[float]] = []
    usage = Usage()
    for answer in answers:
        assert answer is not None
        vectors.extend(answer.vectors)
        usage = usage + answer.usage
    lengths = sorted({len(vector) for vector in vectors})
    if len(lengths) > 1:
        raise BadResponseError(
            f"the embeddings from {sender.url} have different lengths ({lengths[0]} and {lengths[-1]})",
            model=model,
        )
    answered = next((a.model for a in answers if a is not None and a.model), model)
    return Embeddings(vectors=vectors, model=answered, usage=usage, requests=len(batches))


def _check(
    texts: Sequence[str],
    model: str,
    dimensions: int | None,
    batch_size: int,
    concurrency: int,
    max_retries: int,
) -> None:
    if isinstance(texts, str):
        raise ConfigError("expected a list of texts, got one string", field="texts")
    if not texts:
        raise ConfigError("there is nothing to embed: no texts were given", field="texts")
    for number, text in enumerate(texts):
        if not isinstance(text, str):
            raise ConfigError(f"text #{number} is a {type(text).__name__}, not a string", field="texts")
        if not text:
            raise ConfigError(f"text #{number} is empty (embedding models refuse empty input)", field="texts")
    if not model.strip():
        raise ConfigError("an embedding model id must not be empty", field="model")
    for name, value, least in (
        ("dimensions", dimensions, 1),
        ("batch_size", batch_size, 1),
        ("concurrency", concurrency, 1),
        ("max_retries", max_retries, 0),
    ):
        if value is not None and (type(value) is not int or value < least):
            raise ConfigError(f"expected an integer of at least {least}, got {value!r}", field=name)


@dataclass(frozen=True, slots=True)
class _Answer:
    vectors: list[list[float]]
    model: str | None
    usage: Usage


class _Sender:
    """Sends one batch (retrying transient failures) and reads its answer."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        model: str,
        base_url: str,
        api_key: str | None,
        dimensions: int | None,
        extra_headers: Mapping[str, str] | None,
        max_retries: int,
        sleep: Callable[[float], Awaitable[None]],
        rng: Callable[[], float],
    ) -> None:
        self.client = client
        self.model = model
        self.url = base_url.strip().rstrip("/") + "/embeddings"
        self.api_key = api_key or None
        self.dimensions = dimensions
        self.max_retries = max_retries
        self.sleep = sleep
        self.rng = rng
        self.headers = request_headers(self.api_key, extra_headers, Accept="application/json")

    async def send(self, batch: list[str]) -> _Answer:
        body: dict[str, Any] = {"model": self.model, "input": batch, "encoding_format": "float"}
        if self.dimensions is not None:
            body["dimensions"] = self.dimensions
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._post(content, len(batch))
            except ProviderError as exc:
                delay = retry_delay(exc, attempt, max_retries=self.max_retries, rng=self.rng)
                if delay is None:
                    raise
            await self.sleep(delay)

    async def _post(self, content: bytes, count: int) -> _Answer:
        try:
            async with self.client.stream("POST", self.url, content=content, headers=self.headers) as rsp:
                if not rsp.is_success:
                    head, _ = await read_body(rsp, MAX_ERROR_BODY_SIZE)
                    raise error_from_response(
                        rsp.status_code, rsp.headers, head, model=self.model, secret=self.api_key
                    )
                whole, complete = await read_body(rsp, MAX_BODY_SIZE)
        except httpx.HTTPError as exc:
            raise connection_error(exc, url=self.url, model=self.model, secret=self.api_key) from exc
        if not complete:
            raise ResponseLimitError(
                f"the embeddings response from {self.url} is larger than {MAX_BODY_SIZE >> 20} MiB; "
                "send fewer texts per request (--batch-size)",
                model=self.model,
            )
        try:
            document = safe_json.loads(whole)
        except ValueError:
            raise BadResponseError(
                f"the embeddings response from {self.url} is not JSON", model=self.model
            ) from None
        if isinstance(document, dict) and isinstance(document.get("error"), dict):
            raise error_from_body(document["error"], status=None, model=self.model, secret=self.api_key)
        return self._answer(document, count)

    def _answer(self, document: Any, count: int) -> _Answer:
        where = f"the embeddings response from {self.url}"

        def bad(what: str) -> BadResponseError:
            return BadResponseError(f"{where} {what}", model=self.model)

        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, list):
            raise bad("has no 'data' list")
        if len(data) != count:
            raise bad(f"has {len(data)} embeddings for {count} inputs")
        vectors: list[list[float] | None] = [None] * count
        for position, item in enumerate(data):
            if not isinstance(item, dict):
                raise bad(f"has an entry #{position} that is not an object")
            index = item.get("index", position)
            if type(index) is not int or not 0 <= index < count:
                raise bad(f"has an embedding with index {_shown(index)}, outside 0..{count - 1}")
            if vectors[index] is not None:
                raise bad(f"has two embeddings with index {index}")
            vector = _vector(item.get("embedding"))
            if vector is None:
                raise bad(f"has an embedding #{index} that is not a non-empty list of finite numbers")
            vectors[index] = vector
        answered = document.get("model")
        return _Answer(
            vectors=[v for v in vectors if v is not None],
            model=answered if isinstance(answered, str) and answered.strip() else None,
            usage=_usage(document.get("usage")),
        )


def _vector(raw: object) -> list[float] | None:
    """A vector of finite floats from a JSON list of numbers or base64 float32; None if it is neither."""
    if isinstance(raw, str):
        try:
            packed = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return None
        if not packed or len(packed) % 4:
            return None
        floats = array.array("f", packed)
        if sys.byteorder != "little":
            floats.byteswap()
        vector = floats.tolist()
    elif isinstance(raw, list) and raw:
        if not all(type(x) is float or type(x) is int for x in raw):
            return None
        vector = [float(x) for x in raw]
    else:
        return None
    return vector if all(map(math.isfinite, vector)) else None


def _usage(raw: object) -> Usage:
    """``usage`` read leniently: a count or cost that is not a number is unknown (0, None)."""
    if not isinstance(raw, dict):
        return Usage()

    def count(name: str) -> int:
        value = raw.get(name)
        return value if type(value) is int and value >= 0 else 0

    cost = raw.get("cost")
    if not (type(cost) is int or type(cost) is float) or not math.isfinite(cost) or cost < 0:
        cost = None
    prompt = count("prompt_tokens")
    return Usage(prompt_tokens=prompt, total_tokens=count("total_tokens") or prompt, cost=cost)


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:39] + "…"
