from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agent.config.trust import trust_directory
from agent.errors import ConfigError
from agent.models.capabilities import CapabilityFacts, CapabilityLayer, resolve
from agent.models.overrides import ModelOverrides, OverrideRule, find_overrides, load_overrides


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_load_overrides_reads_ids_and_globs_with_their_facts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "models.yaml",
        """
models:
  "qwen/qwen-2.5-7b-instruct":
    native_tools: false
    tool_choice: [auto, none]
  "qwen/*":
    context_length: 32768
    prompt_price: 0.0000002
    completion_price: "0.0000004"
""",
    )
    source = str(path)
    assert load_overrides([path]) == ModelOverrides(
        (
            OverrideRule(
                source,
                "qwen/*",
                CapabilityFacts(
                    context_length=32768,
                    prompt_price=Decimal("0.0000002"),
                    completion_price=Decimal("0.0000004"),
                ),
            ),
            OverrideRule(
                source,
                "qwen/qwen-2.5-7b-instruct",
                CapabilityFacts(native_tools=False, tool_choice=("auto", "none")),
            ),
        )
    )


def test_a_models_yaml_entry_sets_the_tool_schema_profile_over_the_vendor_rule(tmp_path: Path) -> None:
    path = write(
        tmp_path / "models.yaml",
        'models:\n  "google/*":\n    tool_schema_profile: full\n'
        '  "gemini-*":\n    tool_schema_profile: gemini\n',
    )
    overrides = load_overrides([path])
    assert [
        (model, resolve(model, above=overrides.layers_for(model)).tool_schema_profile)
        for model in ("google/gemini-2.5-flash", "gemini-2.5-flash", "openai/gpt-4o")
    ] == [("google/gemini-2.5-flash", "full"), ("gemini-2.5-flash", "gemini"), ("openai/gpt-4o", "full")]


def test_more_important_files_and_exact_ids_apply_last(tmp_path: Path) -> None:
    project = write(tmp_path / "project" / "models.yaml", 'models:\n  "*":\n    parallel_tool_calls: false\n')
    user = write(
        tmp_path / "user" / "models.yaml",
        'models:\n  "acme/m":\n    context_length: 1000\n'
        '  "acme/*":\n    context_length: 2000\n    parallel_tool_calls: true\n',
    )
    overrides = load_overrides([project, user])
    assert overrides.layers_for("acme/m") == [
        CapabilityLayer(f"{user} (acme/*)", CapabilityFacts(context_length=2000, parallel_tool_calls=True)),
        CapabilityLayer(f"{user} (acme/m)", CapabilityFacts(context_length=1000)),
        CapabilityLayer(f"{project} (*)", CapabilityFacts(parallel_tool_calls=False)),
    ]
    assert overrides.layers_for("other/x") == [
        CapabilityLayer(f"{project} (*)", CapabilityFacts(parallel_tool_calls=False))
    ]


@pytest.mark.parametrize(
    ("pattern", "model_id", "matches"),
    [
        ("acme/m", "acme/m", True),
        ("acme/m", "acme/m:free", False),
        ("acme/*", "acme/m:free", True),
        ("*:free", "acme/m:free", True),
        ("*", "a/b/c", True),
        ("acme/m?", "acme/m1", True),
        ("acme/[ab]", "acme/c", False),
        ("Acme/*", "acme/m", False),
    ],
)
def test_patterns_are_exact_ids_or_case_sensitive_globs(pattern: str, model_id: str, matches: bool) -> None:
    assert OverrideRule("f", pattern, CapabilityFacts()).matches(model_id) is matches


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing yet\n\n   # still nothing\n",
        "models:\n",
        "models:\n#  acme/m:\n#    native_tools: false\n",
    ],
    ids=["empty", "only comments", "empty models", "commented entries"],
)
def test_a_file_without_entries_overrides_nothing(tmp_path: Path, text: str) -> None:
    assert load_overrides([write(tmp_path / "models.yaml", text)]) == ModelOverrides()


ERROR_CASES = [
    ("unknown top-level key", "model:\n  a: {}\n", "model: unknown field; expected one of: models"),
    (
        "unknown capability",
        "models:\n  acme/m:\n    tools: true\n",
        "models.acme/m.tools: unknown field; expected one of: audio_input, cache_breakpoints, "
        "completion_price, context_length, free, image_input, max_completion_tokens, native_tools, "
        "parallel_tool_calls, prompt_price, reasoning, request_price, structured_outputs, tool_choice, "
        "tool_schema_profile",
    ),
    (
        "wrong type",
        "models:\n  acme/m:\n    native_tools: maybe\n",
        "models.acme/m.native_tools: expected true or false, got 'maybe'",
    ),
    (
        "bad tool_choice value",
        "models:\n  acme/m:\n    tool_choice: [auto, any]\n",
        "models.acme/m.tool_choice[1]: expected 'auto', 'required', 'none' or 'named', got 'any'",
    ),
    (
        "negative window",
        "models:\n  acme/m:\n    context_length: -5\n",
        "models.acme/m.context_length: expected a number greater than 0, got -5",
    ),
    (
        "unknown schema profile",
        "models:\n  acme/m:\n    tool_schema_profile: openapi\n",
        "models.acme/m.tool_schema_profile: expected 'full' or 'gemini', got 'openapi'",
    ),
    ("entry not a mapping", "models:\n  acme/m: false\n", "models.acme/m: expected a mapping, got false"),
    ("models not a mapping", "models: [a, b]\n", "models: expected a mapping, got a list"),
    (
        "blank pattern",
        'models:\n  " ":\n    free: true\n',
        "models: expected model ids or globs as keys, got an empty key",
    ),
    ("top level not a mapping", "- a\n", "expected a mapping at the top level, got a list"),
    (
        "invalid yaml",
        "models:\n  a: [\n",
        "line 3: invalid YAML: expected the node content, but found '<stream end>' (column 1)",
    ),
]


@pytest.mark.parametrize(("text", "message"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_mistakes_are_one_line_config_errors_naming_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path / "models.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_overrides([path])
    assert str(caught.value) == f"{path}: {message}"
    assert "\n" not in str(caught.value)


def test_find_overrides_uses_models_yaml_of_every_config_dir(tmp_path: Path) -> None:
    cwd = tmp_path / "project"
    local = write(cwd / "config" / "models.yml", 'models:\n  "acme/*":\n    free: true\n')
    user = write(
        tmp_path / "user" / "models.yaml", 'models:\n  "acme/*":\n    free: false\n    reasoning: true\n'
    )
    env = {"AGENT_CONFIG_DIR": str(tmp_path / "user")}
    trust_directory(cwd, env)
    overrides = find_overrides(cwd, env)
    assert overrides.layers_for("acme/m") == [
        CapabilityLayer(f"{user} (acme/*)", CapabilityFacts(free=False, reasoning=True)),
        CapabilityLayer(f"{local} (acme/*)", CapabilityFacts(free=True)),
    ]


def test_the_bundled_example_overrides_nothing(tmp_path: Path) -> None:
    overrides = find_overrides(tmp_path, {"AGENT_CONFIG_DIR": str(tmp_path / "absent")})
    assert overrides == ModelOverrides()
