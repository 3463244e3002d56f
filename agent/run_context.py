"""What one run's model requests share, so that model objects keep no per-run state.

A chat model (with its retry, fallback and text-protocol wrappers) may serve many runs at
once. Whatever a wrapper learns during a run (which models were asked, who answered, where a
fallback chain stands, whether the run switched to the text tool protocol) and where the run's
events go lives here, in one object per run that the loop passes with every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from agent.events import Event, EventSink, ProtocolSwitched

if TYPE_CHECKING:
    from agent.providers.base import ChatModel

__all__ = ["RunContext", "ToolProtocol"]

ToolProtocol = Literal["native", "text"]


@dataclass(slots=True)
class RunContext:
    """Per-run facts the model wrappers read and write.

    Attributes:
        on_event: where the run's events go (retries, fallbacks, protocol switches).
        protocol: the tool protocol requests are made in; the text-protocol wrapper may switch
            it from ``native`` to ``text`` once, when ``protocol_switch`` allows.
        protocol_switch: whether a native run may switch to the text protocol.
        models_tried: every model a request went to, in first-tried order, once each.
        answered_by: the model that answered the last successful request.
        chain_start: per fallback chain (keyed by the chain object's id), the member later
            requests of this run start at (a model found down is not waited on every turn).
        chains: per fallback chain (keyed likewise), this run's own members when they differ
            from the chain's: models OpenRouter suggested (``auto_fallback``) were added.
    """

    on_event: EventSink | None = None
    protocol: ToolProtocol = "native"
    protocol_switch: bool = True
    models_tried: list[str] = field(default_factory=list)
    answered_by: str | None = None
    chain_start: dict[int, int] = field(default_factory=dict)
    chains: dict[int, list[ChatModel]] = field(default_factory=dict)

    def emit(self, event: Event) -> None:
        """Send ``event`` to the run's sink, if it has one."""
        if self.on_event is not None:
            self.on_event(event)

    def note_tried(self, models: list[str] | tuple[str, ...]) -> None:
        """Add ``models`` to :attr:`models_tried` (each once, in order)."""
        self.models_tried.extend(m for m in models if m not in self.models_tried)

    def switch_to_text(self, model: str, reason: str) -> None:
        """Continue this run in the text tool protocol, and say so."""
        self.protocol = "text"
        self.emit(ProtocolSwitched(model=model, tool_protocol="text", reason=reason))
