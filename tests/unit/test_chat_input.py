"""What ``agent chat`` offers to complete: slash commands, and model ids after /model and /fallback."""

from __future__ import annotations

import pytest

from agent.cli.chat_commands import COMMAND_NAMES, MODEL_COMMANDS
from agent.cli.chat_input import completions

MODELS = ["openai/gpt-4o", "openai/gpt-4o-mini", "anthropic/claude-sonnet-4.5", "evil/\x1b]0;x\x07m", "a b"]


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("/", list(COMMAND_NAMES)),
        ("/mo", ["/model"]),
        ("/s", ["/servers", "/save"]),
        ("/nothing", []),
        ("hello /mo", []),
        ("/model ", ["anthropic/claude-sonnet-4.5", "openai/gpt-4o", "openai/gpt-4o-mini"]),
        ("/model openai/gpt-4o-", ["openai/gpt-4o-mini"]),
        ("/model mini", ["openai/gpt-4o-mini"]),  # a word inside the id, after those it starts
        ("/fallback openai/gpt-4o anth", ["anthropic/claude-sonnet-4.5"]),  # each id after the first
        ("/save open", []),  # not a model argument
        ("/model open\nmore", []),
    ],
)
def test_completions_offer_commands_then_catalog_ids_of_plain_characters_only(
    typed: str, offered: list[str]
) -> None:
    assert completions(typed, COMMAND_NAMES, MODEL_COMMANDS, MODELS) == offered
