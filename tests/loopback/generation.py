"""The ``GET /generation?id=`` side of the loopback server: stats of the generations it produced.

Every reply the server sends gets a ``gen-loopback-N`` id; its model, provider, usage and finish
reason are kept under that id and answered in OpenRouter's ``GenerationResponse`` shape (OAS
``GenerationResponse``, reference §1). OpenRouter knows a generation only a moment after it
ends: ``unknown_for`` makes each id answer 404 that many times before its stats.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tests.loopback.steps import Reply
from tests.loopback.wire import error_body

__all__ = ["LATENCY_MS", "Generations"]

LATENCY_MS = 250.0
"""The ``latency`` every loopback generation reports (``generation_time`` is 200 ms)."""


class Generations:
    """The generations a loopback server produced, and what ``GET /generation`` says of them.

    Args:
        unknown_for: how many lookups of each id answer 404 before its stats do.
    """

    def __init__(self, unknown_for: int = 0) -> None:
        self.unknown_for = unknown_for
        self._stats: dict[str, dict[str, Any]] = {}
        self._asked: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, gen_id: str, reply: Reply, *, model: str, streamed: bool) -> None:
        """Keep what ``gen_id`` was: the answering model, its provider, usage and finish."""
        usage = reply.usage
        prompt = usage.prompt_tokens if usage is not None else 0
        completion = usage.completion_tokens if usage is not None else 0
        stats = {
            "id": gen_id,
            "upstream_id": f"chatcmpl-{gen_id}",
            "total_cost": usage.cost if usage is not None and usage.cost is not None else 0,
            "cache_discount": None,
            "upstream_inference_cost": None,
            "created_at": "2025-06-15T12:00:00.000000+00:00",
            "model": reply.model or model,
            "app_id": None,
            "streamed": streamed,
            "cancelled": False,
            "provider_name": reply.provider,
            "latency": LATENCY_MS,
            "moderation_latency": None,
            "generation_time": 200.0,
            "finish_reason": reply.finish(),
            "native_finish_reason": reply.native_finish(),
            "service_tier": None,
            "tokens_prompt": prompt,
            "tokens_completion": completion,
            "native_tokens_prompt": prompt,
            "native_tokens_completion": completion,
            "native_tokens_completion_images": 0,
            "native_tokens_reasoning": usage.reasoning_tokens if usage is not None else 0,
            "native_tokens_cached": usage.cached_tokens if usage is not None else 0,
            "num_media_prompt": 0,
            "num_input_audio_prompt": 0,
            "num_media_completion": 0,
            "num_search_results": 0,
            "num_fetches": 0,
            "is_byok": False,
            "usage": usage.cost if usage is not None and usage.cost is not None else 0,
            "provider_responses": None,
            "router": None,
            "session_id": None,
        }
        with self._lock:
            self._stats[gen_id] = stats

    def answer(self, query: Mapping[str, Sequence[str]]) -> tuple[int, dict[str, Any]]:
        """The status and body for ``GET /generation`` with ``query`` (its parsed query string)."""
        ids = query.get("id") or []
        if len(ids) != 1 or not ids[0]:
            return 400, error_body(400, "Missing required query parameter: id")
        gen_id = ids[0]
        with self._lock:
            self._asked[gen_id] += 1
            stats = self._stats.get(gen_id)
            early = self._asked[gen_id] <= self.unknown_for
        if stats is None or early:
            return 404, error_body(404, f"Generation {gen_id} not found")
        return 200, {"data": dict(stats)}

    def asked(self, gen_id: str) -> int:
        """How many times ``gen_id`` was looked up."""
        with self._lock:
            return self._asked[gen_id]
