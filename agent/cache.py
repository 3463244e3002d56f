"""The per-user cache directory, cache keys and atomic writes: shared by the catalog and probes.

Caches hold public data only (the model catalog, probe results); they are keyed by a hash of the
endpoint URL, never by an API key, and written atomically so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from agent.config.paths import user_cache_dir

__all__ = ["endpoint_key", "user_cache_dir", "write_atomically"]


def endpoint_key(base_url: str) -> str:
    """A short stable hash of an endpoint URL (surrounding spaces and trailing slashes ignored)."""
    normalized = base_url.strip().rstrip("/")
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:24]


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (creating its directory): readers see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
