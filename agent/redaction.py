"""Keeping secrets out of text a person or a log will see: API keys, bearer tokens, known values.

Matching is case-insensitive: a key echoed upper-cased by a proxy (``SK-OR-V1-...``) or a header
written ``authorization: bearer ...`` is still caught.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["REDACTED", "redact"]

REDACTED = "[redacted]"
_KEY_SHAPE = re.compile(r"\bsk-[a-z0-9][a-z0-9_-]{15,}", re.IGNORECASE)
_BEARER = re.compile(r"\b(bearer\s+)[a-z0-9._~+/=-]{8,}", re.IGNORECASE)


def redact(text: str, secrets: str | Iterable[str | None] | None = None) -> str:
    """``text`` with each of ``secrets`` and anything shaped like an API key or bearer token replaced.

    Secrets shorter than 4 characters are ignored (they would blank out ordinary words).
    """
    if isinstance(secrets, str):
        secrets = (secrets,)
    lowered = text.lower()
    for secret in secrets or ():
        if secret and len(secret) >= 4 and secret.lower() in lowered:
            text = re.sub(re.escape(secret), REDACTED, text, flags=re.IGNORECASE)
            lowered = text.lower()
    if "sk-" in lowered:
        text = _KEY_SHAPE.sub(REDACTED, text)
    if "bearer" in lowered:
        text = _BEARER.sub(lambda match: match.group(1) + REDACTED, text)
    return text
