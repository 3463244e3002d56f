"""Provider routing from ``agent probe --providers``: pin one endpoint, or prefer those that passed.

A model that "supports tools" in the catalog may still fail on some of its providers (broken
JSON arguments, unknown tool names). Probing each endpoint pinned (:func:`pinned`) finds out
which; the verdicts, kept in the probe store, then steer later runs (:func:`routed_by_verdicts`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.models.probe_store import ProbeRecord, ProviderVerdict
    from agent.providers.routing import RequestExtras

__all__ = ["pinned", "ranked", "routed_by_verdicts"]

_CHOOSERS = ("only", "order", "ignore", "sort", "quantizations")
"""Routing keys that choose among providers: a pin replaces them (they could exclude the pin)."""


def pinned(extras: RequestExtras, tag: str) -> RequestExtras:
    """``extras`` sending every request to the endpoint ``tag`` alone, never to another provider.

    The user's other preferences (``data_collection``, ``zdr``, ``max_price``...) stay: an endpoint
    they exclude answers 404, which is worth seeing.
    """
    provider: dict[str, Any] = {k: v for k, v in (extras.provider or {}).items() if k not in _CHOOSERS}
    provider |= {"only": [tag], "allow_fallbacks": False}
    return dataclasses.replace(extras, provider=provider)


def ranked(verdicts: dict[str, ProviderVerdict]) -> tuple[list[str], list[str]]:
    """The tags that passed, fastest probe first, and those that failed."""
    passed = sorted(
        (tag for tag, v in verdicts.items() if v.verdict == "pass"),
        key=lambda tag: (verdicts[tag].latency_ms is None, verdicts[tag].latency_ms or 0.0, tag),
    )
    failed = sorted(tag for tag, v in verdicts.items() if v.verdict == "fail")
    return passed, failed


def routed_by_verdicts(
    extras: RequestExtras, record: ProbeRecord | None, *, model: str, shared: bool
) -> tuple[RequestExtras, str | None]:
    """``extras`` routed to the providers that passed ``agent probe --providers``, and a note saying so.

    Unchanged when there are no verdicts, none passed, or the user chose providers themselves
    (``--only``, ``--provider-order``, or the provider file's ``only``/``order``).

    The form is ``order`` (passing first, fastest first) plus ``ignore`` (failing), not ``only``:
    ``only`` would strand the fallback models that share the request's ``provider`` object (up
    to three models per request, see :mod:`agent.providers.factory`), and endpoints added since
    the probe stay reachable when every passing one is down. ``shared``: fallback models do share
    the object; then the failing ones are not ignored either, since a tag such as ``deepinfra/fp8``
    may serve a fallback model well.
    """
    verdicts = record.providers if record is not None else None
    wire = extras.provider or {}
    if not verdicts or wire.get("only") or wire.get("order"):
        return extras, None
    passed, failed = ranked(verdicts)
    if not passed:
        return extras, None
    provider = {**wire, "order": passed}
    note = f"routing {model} to providers that passed agent probe --providers: {', '.join(passed)}"
    if failed and not shared:
        provider["ignore"] = list(dict.fromkeys([*wire.get("ignore", []), *failed]))
        note += f" (ignoring {', '.join(failed)}, which failed)"
    return dataclasses.replace(extras, provider=provider), note
