"""Probe results: capability facts observed by trying a model, kept per endpoint and model.

``agent probe`` writes what it measured; a run that meets a capability fact (404 "No endpoints
found that support tool use") records it with :meth:`ProbeStore.record_no_native_tools`, so the
next run starts on the text protocol. The store is one JSON file in the user cache directory,
keyed by a hash of the endpoint URL (never the key), replaced atomically on every write. It is a
cache: an unreadable file or record is ignored, and the next write replaces it.

``agent probe --providers`` adds each provider endpoint's verdict to the model's record
(:attr:`ProbeRecord.providers`, by endpoint tag), which routes later runs to the providers that
passed. Format 2 added them; a format 1 file is read as it is (its records have none).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.cache import endpoint_key, write_atomically
from agent.errors import ConfigError
from agent.models.capabilities import CapabilityFacts, CapabilityLayer

__all__ = [
    "NO_TOOL_ENDPOINTS_NOTE",
    "PROBES_FILE_NAME",
    "ProbeRecord",
    "ProbeStore",
    "ProviderVerdict",
    "ProviderVerdictName",
]

PROBES_FILE_NAME = "probes.json"
_FORMAT = 2
_READABLE = (1, 2)  # format 1 records are format 2 records without ``providers``
NO_TOOL_ENDPOINTS_NOTE = "no endpoint supports tool use (404)"


ProviderVerdictName = Literal["pass", "fail", "error", "no_tools"]
"""A provider endpoint's overall verdict: every check it decided passed, one failed, none was
decided, or it takes no tools (not probed)."""


class ProviderVerdict(BaseModel):
    """How one provider endpoint of a model did in ``agent probe --providers``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    verdict: ProviderVerdictName
    checks: dict[str, str] = {}
    latency_ms: float | None = None
    cost: float | None = None
    probed_at: datetime


class ProbeRecord(BaseModel):
    """What probing one model on one endpoint found, and when.

    ``providers`` holds the verdicts of ``agent probe --providers`` by endpoint tag.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    facts: CapabilityFacts
    probed_at: datetime
    note: str | None = None
    providers: dict[str, ProviderVerdict] | None = None

    def layer(self) -> CapabilityLayer:
        """This record as the top layer of a capability merge."""
        note = f": {self.note}" if self.note else ""
        return CapabilityLayer(f"probe {self.probed_at:%Y-%m-%d}{note}", self.facts)


class ProbeStore:
    """Probe records in ``path`` (usually ``user_cache_dir(env) / PROBES_FILE_NAME``).

    Args:
        path: the JSON file; it and its directory are created on the first write.
        clock: the current time (UTC), for tests.
    """

    def __init__(self, path: Path, *, clock: Callable[[], datetime] | None = None) -> None:
        self.path = path
        self._clock = clock or (lambda: datetime.now(UTC))

    @classmethod
    def in_cache_dir(cls, cache_dir: Path) -> ProbeStore:
        """The store at its usual place in ``cache_dir``."""
        return cls(cache_dir / PROBES_FILE_NAME)

    def get(self, endpoint: str, model: str) -> ProbeRecord | None:
        """The record of ``model`` on ``endpoint`` (the API base URL), if there is a readable one."""
        raw = self._read().get(endpoint_key(endpoint), {}).get(model)
        try:
            return ProbeRecord.model_validate(raw) if raw is not None else None
        except ValidationError:
            return None

    def record(
        self, endpoint: str, model: str, facts: CapabilityFacts, *, note: str | None = None
    ) -> ProbeRecord:
        """Add ``facts`` over what is already recorded for ``model`` on ``endpoint``, stamped now.

        Raises:
            ConfigError: the store cannot be written (names the file).
        """
        old = self.get(endpoint, model)
        known = (old.facts.known() if old else {}) | facts.known()
        record = ProbeRecord(
            facts=CapabilityFacts(**known),
            probed_at=self._clock(),
            note=note if note is not None else (old.note if old else None),
            providers=old.providers if old else None,
        )
        self._update(endpoint, model, record.model_dump(mode="json", exclude_none=True))
        return record

    def record_providers(
        self, endpoint: str, model: str, verdicts: dict[str, ProviderVerdict]
    ) -> ProbeRecord:
        """Replace the provider verdicts of ``model`` on ``endpoint`` (its facts are kept).

        Raises:
            ConfigError: the store cannot be written (names the file).
        """
        old = self.get(endpoint, model)
        record = ProbeRecord(
            facts=old.facts if old else CapabilityFacts(),
            probed_at=old.probed_at if old else self._clock(),
            note=old.note if old else None,
            providers=dict(verdicts),
        )
        self._update(endpoint, model, record.model_dump(mode="json", exclude_none=True))
        return record

    def now(self) -> datetime:
        """The store's current time (UTC), to stamp verdicts with."""
        return self._clock()

    def record_no_native_tools(self, endpoint: str, model: str) -> ProbeRecord:
        """Remember that no endpoint of ``model`` takes tools, so later runs use the text protocol."""
        return self.record(endpoint, model, CapabilityFacts(native_tools=False), note=NO_TOOL_ENDPOINTS_NOTE)

    def forget(self, endpoint: str, model: str) -> bool:
        """Drop the record of ``model`` on ``endpoint``; ``False`` if there was none."""
        if model not in self._read().get(endpoint_key(endpoint), {}):
            return False
        self._update(endpoint, model, None)
        return True

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(document, dict) or document.get("format") not in _READABLE:
            return {}
        endpoints = document.get("endpoints")
        if not isinstance(endpoints, dict):
            return {}
        return {key: models for key, models in endpoints.items() if isinstance(models, dict)}

    def _update(self, endpoint: str, model: str, raw: dict[str, Any] | None) -> None:
        endpoints = self._read()
        key = endpoint_key(endpoint)
        models = endpoints.setdefault(key, {})
        if raw is None:
            models.pop(model, None)
            if not models:
                del endpoints[key]
        else:
            models[model] = raw
        text = json.dumps({"format": _FORMAT, "endpoints": endpoints}, ensure_ascii=False, indent=1)
        try:
            write_atomically(self.path, text)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            if isinstance(exc, FileExistsError):
                reason = "a file is in the way of its directory"
            raise ConfigError(f"cannot write probe results: {reason}", source=str(self.path)) from None
