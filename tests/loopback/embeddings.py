"""The embeddings side of the loopback server: ``POST /embeddings`` and ``GET /embeddings/models``.

Vectors are deterministic (from a hash of the text, unit length, ``dimensions`` honoured), so a
test can compute the expected vector; the answer has the shape of OpenRouter's OpenAPI
document (``object``, ``data[].{object, embedding, index}``, ``model``, ``usage`` with
``cost``). A body that does not fit the request schema gets OpenRouter's 400 and is noted in
:attr:`EmbeddingsService.rejected`; scripted errors (:meth:`EmbeddingsService.fail_next`) answer
the next requests first.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from tests.loopback.catalog import catalog_model, filter_catalog
from tests.loopback.steps import ErrorReply, error

__all__ = ["DEFAULT_DIMENSIONS", "EmbeddingsService", "embedding_model", "request_problems", "vector_of"]

DEFAULT_DIMENSIONS = 8
"""The length of a vector when the request does not ask for one."""
PRICE_PER_TOKEN = 0.00000002
"""USD per input token (``openai/text-embedding-3-small``'s price)."""
_FIELDS = frozenset({"model", "input", "dimensions", "encoding_format", "input_type", "provider", "user"})
"""The properties of the request schema (``createEmbeddings``)."""


def embedding_model(
    model_id: str, *, context_length: int = 8192, prompt_price: str = "0.00000002", **extra: Any
) -> dict[str, Any]:
    """A catalog entry of an embedding model, as ``GET /embeddings/models`` lists it."""
    architecture = {
        "modality": "text->embeddings",
        "input_modalities": ["text"],
        "output_modalities": ["embeddings"],
        "tokenizer": "GPT",
        "instruct_type": None,
    }
    return catalog_model(
        model_id,
        supported_parameters=(),
        context_length=context_length,
        prompt_price=prompt_price,
        completion_price="0",
        **{"architecture": architecture, **extra},
    )


def embedding_models(catalog: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The entries of ``catalog`` whose output is embeddings."""
    return filter_catalog(catalog, {"output_modalities": ["embeddings"]})


def vector_of(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The loopback's embedding of ``text``: hash-derived numbers in [-1, 1), scaled to unit length."""
    numbers: list[float] = []
    block = 0
    while len(numbers) < dimensions:
        digest = hashlib.sha256(f"{block}\0{text}".encode()).digest()
        numbers.extend(value / 2**31 for value in struct.unpack("<8i", digest))
        block += 1
    numbers = numbers[:dimensions]
    norm = sum(n * n for n in numbers) ** 0.5 or 1.0
    return [n / norm for n in numbers]


def tokens_of(text: str) -> int:
    """A token count of ``text`` (about four characters a token)."""
    return max(1, (len(text) + 3) // 4)


def request_problems(body: Any) -> list[str]:
    """What in ``body`` does not fit the ``createEmbeddings`` request schema (text inputs only)."""
    if not isinstance(body, dict):
        return ["the body is not a JSON object"]
    problems = [f"unknown field {name!r}" for name in sorted(set(body) - _FIELDS)]
    model = body.get("model")
    if not isinstance(model, str) or not model:
        problems.append("'model' must be a non-empty string")
    texts = body.get("input")
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t for t in texts):
        problems.append("'input' must be a non-empty string or a non-empty list of non-empty strings")
    dimensions = body.get("dimensions")
    if "dimensions" in body and (type(dimensions) is not int or dimensions < 1):
        problems.append("'dimensions' must be an integer of at least 1")
    if body.get("encoding_format", "float") not in ("float", "base64"):
        problems.append("'encoding_format' must be 'float' or 'base64'")
    return problems


class EmbeddingsService:
    """Answers embedding requests; thread-safe (the server handles requests on threads).

    Args:
        answer_as: the model the answers name (default: the requested one).
        price_per_token: USD per input token, reported as ``usage.cost``.
    """

    def __init__(self, *, answer_as: str | None = None, price_per_token: float = PRICE_PER_TOKEN) -> None:
        self.answer_as = answer_as
        self.price_per_token = price_per_token
        self._lock = threading.Lock()
        self._errors: deque[ErrorReply] = deque()
        self.bodies: list[Any] = []
        """Every request body received, in order."""
        self.rejected: list[str] = []
        """Why each request that broke the request schema was refused."""

    def fail_next(self, *replies: ErrorReply) -> None:
        """Answer the next requests with these errors, one each, before any vectors."""
        with self._lock:
            self._errors.extend(replies)

    def answer(self, body: Any) -> ErrorReply | dict[str, Any]:
        """The answer to one ``POST /embeddings`` body."""
        with self._lock:
            self.bodies.append(body)
            problems = request_problems(body)
            if problems:
                self.rejected.append("; ".join(problems))
                return error(400, "Invalid request parameters: " + "; ".join(problems))
            if self._errors:
                return self._errors.popleft()
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
        tokens = sum(tokens_of(text) for text in texts)
        return {
            "id": f"embd-loopback-{len(self.bodies)}",
            "object": "list",
            "data": [
                {"object": "embedding", "embedding": vector_of(text, dimensions), "index": index}
                for index, text in enumerate(texts)
            ],
            "model": self.answer_as or body["model"],
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "cost": tokens * self.price_per_token},
        }
