from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from agent.models.capabilities import (
    ALL_TOOL_CHOICES,
    CapabilityFacts,
    CapabilityLayer,
    ModelCapabilities,
    ToolChoice,
    catalog_facts,
    layers_for,
    merge,
    resolve,
    vendor_layer,
)
from agent.models.catalog import CatalogEntry
from agent.models.overrides import ModelOverrides, OverrideRule
from agent.models.probe_store import ProbeRecord
from tests.loopback.catalog import catalog_model

DEFAULT_SOURCES = {
    "native_tools": "defaults",
    "tool_choice": "defaults",
    "parallel_tool_calls": "defaults",
    "tool_schema_profile": "defaults",
}


def entry(model_id: str, **fields: Any) -> CatalogEntry:
    return CatalogEntry.model_validate(catalog_model(model_id, **fields))


def test_an_unknown_model_gets_the_openai_compatible_defaults() -> None:
    assert resolve("local-model") == ModelCapabilities(
        model="local-model",
        native_tools=True,
        tool_choice=ALL_TOOL_CHOICES,
        parallel_tool_calls=True,
        tool_schema_profile="full",
        sources=DEFAULT_SOURCES,
    )


def test_a_free_suffix_marks_the_model_free_before_any_catalog() -> None:
    assert resolve("acme/m:free") == ModelCapabilities(
        model="acme/m:free",
        native_tools=True,
        tool_choice=ALL_TOOL_CHOICES,
        parallel_tool_calls=True,
        tool_schema_profile="full",
        free=True,
        sources=DEFAULT_SOURCES | {"free": "model id"},
    )


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("openai/o1-mini", CapabilityLayer("vendor rule (openai)", CapabilityFacts(native_tools=False))),
        (
            "openai/o1-preview-2024-09-12",
            CapabilityLayer("vendor rule (openai)", CapabilityFacts(native_tools=False)),
        ),
        (
            "openai/chatgpt-4o-latest",
            CapabilityLayer("vendor rule (openai)", CapabilityFacts(native_tools=False)),
        ),
        (
            "openai/gpt-3.5-turbo-instruct",
            CapabilityLayer("vendor rule (openai)", CapabilityFacts(native_tools=False)),
        ),
        ("openai/o1", None),
        ("openai/gpt-4o", None),
        (
            "anthropic/claude-3.7-sonnet:thinking",
            CapabilityLayer(
                "vendor rule (anthropic)",
                CapabilityFacts(tool_choice=("auto", "none"), reasoning=True, cache_breakpoints=True),
            ),
        ),
        (
            "anthropic/claude-3.7-sonnet",
            CapabilityLayer("vendor rule (anthropic)", CapabilityFacts(cache_breakpoints=True)),
        ),
        (
            "google/gemini-2.5-flash",
            CapabilityLayer(
                "vendor rule (google)", CapabilityFacts(tool_schema_profile="gemini", cache_breakpoints=True)
            ),
        ),
        (
            "~google/gemini-flash-latest",
            CapabilityLayer(
                "vendor rule (google)", CapabilityFacts(tool_schema_profile="gemini", cache_breakpoints=True)
            ),
        ),
        (
            "google/gemma-3-27b-it:free",
            CapabilityLayer(
                "vendor rule (google)", CapabilityFacts(tool_schema_profile="gemini", cache_breakpoints=True)
            ),
        ),
        ("gemini-2.5-flash", None),
        ("o1-mini", None),
        ("unknown-vendor/o1-mini", None),
    ],
)
def test_vendor_rules_state_only_documented_facts(model_id: str, expected: CapabilityLayer | None) -> None:
    assert vendor_layer(model_id) == expected


CATALOG_CASES: list[tuple[str, CatalogEntry, CapabilityFacts]] = [
    (
        "tools with tool_choice and parallel calls",
        entry(
            "acme/full",
            supported_parameters=[
                "tools",
                "tool_choice",
                "parallel_tool_calls",
                "response_format",
                "reasoning",
                "include_reasoning",
            ],
            context_length=200_000,
            prompt_price="0.000003",
            completion_price="0.000015",
        ),
        CapabilityFacts(
            native_tools=True,
            tool_choice=ALL_TOOL_CHOICES,
            parallel_tool_calls=True,
            structured_outputs=True,
            reasoning=True,
            context_length=200_000,
            max_completion_tokens=4096,
            prompt_price=Decimal("0.000003"),
            completion_price=Decimal("0.000015"),
            request_price=Decimal(0),
            free=False,
            image_input=False,
            audio_input=False,
        ),
    ),
    (
        "tools without tool_choice: only auto",
        entry("acme/auto-only", supported_parameters=["tools", "structured_outputs"]),
        CapabilityFacts(
            native_tools=True,
            tool_choice=("auto",),
            parallel_tool_calls=False,
            structured_outputs=True,
            reasoning=False,
            context_length=128_000,
            max_completion_tokens=4096,
            prompt_price=Decimal("0.000001"),
            completion_price=Decimal("0.000002"),
            request_price=Decimal(0),
            free=False,
            image_input=False,
            audio_input=False,
        ),
    ),
    (
        "no tools, free by price",
        entry(
            "acme/chat",
            supported_parameters=["temperature", "parallel_tool_calls"],
            prompt_price="0",
            completion_price="0",
        ),
        CapabilityFacts(
            native_tools=False,
            tool_choice=(),
            parallel_tool_calls=False,
            structured_outputs=False,
            reasoning=False,
            context_length=128_000,
            max_completion_tokens=4096,
            prompt_price=Decimal(0),
            completion_price=Decimal(0),
            request_price=Decimal(0),
            free=True,
            image_input=False,
            audio_input=False,
        ),
    ),
    (
        "no supported_parameters and unknown prices say nothing about features or cost",
        CatalogEntry(id="local/llama", context_length=0),
        CapabilityFacts(),
    ),
    (
        "window from the top provider, variable price, free suffix",
        CatalogEntry.model_validate(
            {
                "id": "acme/m:free",
                "top_provider": {"context_length": 32_000, "max_completion_tokens": 0},
                "pricing": {"prompt": "-1", "completion": "-1"},
            }
        ),
        CapabilityFacts(context_length=32_000, free=True),
    ),
]


@pytest.mark.parametrize(
    ("catalog_entry", "expected"), [c[1:] for c in CATALOG_CASES], ids=[c[0] for c in CATALOG_CASES]
)
def test_catalog_facts_read_supported_parameters_limits_and_prices(
    catalog_entry: CatalogEntry, expected: CapabilityFacts
) -> None:
    assert catalog_facts(catalog_entry) == expected


def test_later_layers_win_and_each_fact_names_its_source() -> None:
    probe = ProbeRecord(
        facts=CapabilityFacts(native_tools=False),
        probed_at=datetime(2026, 2, 3, tzinfo=UTC),
        note="no endpoint supports tool use (404)",
    )
    overrides = ModelOverrides(
        (
            OverrideRule(
                "/cfg/models.yaml",
                "acme/*",
                CapabilityFacts(parallel_tool_calls=False, context_length=64_000),
            ),
            OverrideRule("/cfg/models.yaml", "acme/full", CapabilityFacts(context_length=100_000)),
            OverrideRule("/cfg/models.yaml", "other/*", CapabilityFacts(native_tools=False)),
        )
    )
    catalog_entry = entry("acme/full", supported_parameters=["tools", "tool_choice", "parallel_tool_calls"])
    resolved = resolve(
        "acme/full", catalog_entry=catalog_entry, above=[*overrides.layers_for("acme/full"), probe.layer()]
    )
    assert resolved == ModelCapabilities(
        model="acme/full",
        native_tools=False,
        tool_choice=ALL_TOOL_CHOICES,
        parallel_tool_calls=False,
        tool_schema_profile="full",
        structured_outputs=False,
        reasoning=False,
        context_length=100_000,
        max_completion_tokens=4096,
        prompt_price=Decimal("0.000001"),
        completion_price=Decimal("0.000002"),
        request_price=Decimal(0),
        free=False,
        image_input=False,
        audio_input=False,
        sources={
            "native_tools": "probe 2026-02-03: no endpoint supports tool use (404)",
            "tool_choice": "catalog",
            "parallel_tool_calls": "/cfg/models.yaml (acme/*)",
            "tool_schema_profile": "defaults",
            "structured_outputs": "catalog",
            "reasoning": "catalog",
            "context_length": "/cfg/models.yaml (acme/full)",
            "max_completion_tokens": "catalog",
            "prompt_price": "catalog",
            "completion_price": "catalog",
            "request_price": "catalog",
            "free": "catalog",
            "image_input": "catalog",
            "audio_input": "catalog",
        },
    )
    assert resolved.tool_protocol == "text"


def test_layers_for_lists_the_merge_order() -> None:
    layers = layers_for("openai/o1-mini:free", catalog_entry=CatalogEntry(id="openai/o1-mini:free"))
    assert [layer.source for layer in layers] == ["defaults", "model id", "vendor rule (openai)", "catalog"]


def test_a_layer_that_knows_nothing_changes_nothing() -> None:
    base = merge("m", [CapabilityLayer("defaults", CapabilityFacts(native_tools=True))])
    assert (
        merge(
            "m",
            [
                CapabilityLayer("defaults", CapabilityFacts(native_tools=True)),
                CapabilityLayer("x", CapabilityFacts()),
            ],
        )
        == base
    )


@pytest.mark.parametrize(("native_tools", "protocol"), [(True, "native"), (None, "native"), (False, "text")])
def test_tool_protocol_is_text_only_when_native_tools_are_known_not_to_work(
    native_tools: bool | None, protocol: str
) -> None:
    assert ModelCapabilities(model="m", native_tools=native_tools).tool_protocol == protocol


@pytest.mark.parametrize(
    ("choices", "value", "allowed"),
    [
        (None, "required", True),
        (ALL_TOOL_CHOICES, "named", True),
        (("auto",), "required", False),
        (("auto", "none"), "none", True),
        ((), "auto", False),
    ],
)
def test_allows_tool_choice_checks_the_known_values(
    choices: tuple[ToolChoice, ...] | None, value: ToolChoice, allowed: bool
) -> None:
    assert ModelCapabilities(model="m", tool_choice=choices).allows_tool_choice(value) is allowed


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        ({"prompt_price": "0.000003", "completion_price": "0.000015"}, Decimal("0.0105")),
        (
            {"prompt_price": "0.000003", "completion_price": "0.000015", "request_price": "0.001"},
            Decimal("0.0115"),
        ),
        ({"prompt_price": "0", "completion_price": "0"}, Decimal(0)),
        ({"prompt_price": "0.000003"}, None),
    ],
)
def test_cost_is_exact_and_unknown_when_a_price_is_unknown(
    prices: dict[str, str], expected: Decimal | None
) -> None:
    capabilities = ModelCapabilities.model_validate({"model": "m", **prices})
    assert capabilities.cost(1000, 500) == expected


@pytest.mark.parametrize(
    ("model_id", "profile", "source"),
    [
        ("google/gemini-2.5-flash", "gemini", "vendor rule (google)"),
        ("~google/gemini-pro-latest", "gemini", "vendor rule (google)"),
        ("openai/gpt-4o", "full", "defaults"),
        ("local-model", "full", "defaults"),
    ],
)
def test_the_tool_schema_profile_comes_from_the_vendor_rule_and_the_catalog_keeps_it(
    model_id: str, profile: str, source: str
) -> None:
    resolved = resolve(model_id, catalog_entry=entry(model_id))
    assert (resolved.tool_schema_profile, resolved.sources["tool_schema_profile"]) == (profile, source)
