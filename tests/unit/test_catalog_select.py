from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from agent.models.catalog import Catalog, CatalogEntry, select


def model(model_id: str, **fields: Any) -> CatalogEntry:
    return CatalogEntry.model_validate({"id": model_id, **fields})


TOOLS = ["tools", "tool_choice"]
ENTRIES = [
    model(
        "openai/gpt-4o",
        name="OpenAI: GPT-4o",
        created=300,
        context_length=128_000,
        pricing={"prompt": "0.0000025", "completion": "0.00001"},
        supported_parameters=TOOLS,
    ),
    model(
        "meta-llama/llama-3.1-8b-instruct:free",
        name="Meta: Llama 3.1 8B Instruct (free)",
        created=100,
        context_length=131_072,
        pricing={"prompt": "0.0000001", "completion": "0.0000001"},
        supported_parameters=["max_tokens"],
    ),
    model(
        "qwen/qwen3-8b",
        name="Qwen: Qwen3 8B",
        created=400,
        context_length=32_768,
        pricing={"prompt": "0", "completion": "0", "request": "0"},
        supported_parameters=TOOLS,
    ),
    model("openrouter/auto", name="Auto Router", created=200, pricing={"prompt": "-1", "completion": "-1"}),
    model(
        "Anthropic/Claude-Test",
        name="Anthropic: Claude Test",
        context_length=200_000,
        pricing={"prompt": "0.000003", "completion": "0.000015", "request": "0.01"},
        supported_parameters=TOOLS,
    ),
]

SELECT_CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "everything by id, ignoring case",
        {},
        [
            "Anthropic/Claude-Test",
            "meta-llama/llama-3.1-8b-instruct:free",
            "openai/gpt-4o",
            "openrouter/auto",
            "qwen/qwen3-8b",
        ],
    ),
    ("tools only", {"tools": True}, ["Anthropic/Claude-Test", "openai/gpt-4o", "qwen/qwen3-8b"]),
    (
        "free: suffix or zero prices",
        {"free": True},
        ["meta-llama/llama-3.1-8b-instruct:free", "qwen/qwen3-8b"],
    ),
    ("free with tools", {"free": True, "tools": True}, ["qwen/qwen3-8b"]),
    ("search the name", {"search": "router"}, ["openrouter/auto"]),
    ("search is case-insensitive", {"search": "GPT"}, ["openai/gpt-4o"]),
    ("every word must match id or name", {"search": "meta free"}, ["meta-llama/llama-3.1-8b-instruct:free"]),
    ("no match", {"search": "mistral"}, []),
    (
        "blank search keeps all",
        {"search": "  ", "tools": True},
        ["Anthropic/Claude-Test", "openai/gpt-4o", "qwen/qwen3-8b"],
    ),
    (
        "newest first, undated last",
        {"sort": "newest"},
        [
            "qwen/qwen3-8b",
            "openai/gpt-4o",
            "openrouter/auto",
            "meta-llama/llama-3.1-8b-instruct:free",
            "Anthropic/Claude-Test",
        ],
    ),
    (
        "cheapest first, unknown prices last",
        {"sort": "price"},
        [
            "qwen/qwen3-8b",
            "meta-llama/llama-3.1-8b-instruct:free",
            "openai/gpt-4o",
            "Anthropic/Claude-Test",
            "openrouter/auto",
        ],
    ),
    (
        "largest context first",
        {"sort": "context"},
        [
            "Anthropic/Claude-Test",
            "meta-llama/llama-3.1-8b-instruct:free",
            "openai/gpt-4o",
            "qwen/qwen3-8b",
            "openrouter/auto",
        ],
    ),
]


@pytest.mark.parametrize(
    ("options", "expected"), [c[1:] for c in SELECT_CASES], ids=[c[0] for c in SELECT_CASES]
)
def test_select_filters_and_sorts_entries(options: dict[str, Any], expected: list[str]) -> None:
    assert [e.id for e in select(ENTRIES, **options)] == expected


@pytest.mark.parametrize(
    ("fields", "supports_tools", "is_free"),
    [
        ({"supported_parameters": ["tools"], "pricing": {"prompt": "0", "completion": "0"}}, True, True),
        (
            {
                "supported_parameters": ["tool_choice"],
                "pricing": {"prompt": "0", "completion": "0", "request": "0.5"},
            },
            False,
            False,
        ),
        ({"pricing": {"prompt": "0", "completion": "0.000001"}}, False, False),
        ({"pricing": {"prompt": "-1", "completion": "-1"}}, False, False),
        ({}, False, False),
    ],
    ids=["free with tools", "request price", "paid completion", "variable price", "nothing known"],
)
def test_entry_tells_tool_support_and_whether_it_is_free(
    fields: dict[str, Any], supports_tools: bool, is_free: bool
) -> None:
    found = model("acme/m", **fields)
    assert (found.supports_tools, found.is_free) == (supports_tools, is_free)


def test_entry_prices_are_exact_decimals() -> None:
    found = model("acme/m", pricing={"prompt": "0.0000001", "completion": 0.0000002, "request": "1e-3"})
    assert found.pricing is not None
    assert (found.pricing.prompt, found.pricing.completion, found.pricing.request) == (
        Decimal("0.0000001"),
        Decimal("2E-7"),
        Decimal("0.001"),
    )


CATALOG = Catalog(
    entries={e.id: e for e in [model("acme/base"), model("acme/base:free"), model("acme/solo")]},
    fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("model_id", "found"),
    [
        ("acme/base", "acme/base"),
        ("acme/base:free", "acme/base:free"),
        ("acme/base:nitro", "acme/base"),
        ("acme/base:thinking", "acme/base"),
        ("acme/solo:exacto", "acme/solo"),
        ("acme/solo:free", None),
        ("acme/solo:unknown-variant", None),
        ("acme/missing", None),
    ],
)
def test_lookup_folds_routing_variants_into_the_base_entry_but_not_free(
    model_id: str, found: str | None
) -> None:
    entry = CATALOG.lookup(model_id)
    assert (entry.id if entry else None) == found
    assert CATALOG.get(model_id) == CATALOG.entries.get(model_id)
