"""Fuzzing the config pipeline: files, ``${VAR}`` expansion, provider and MCP entries.

Each property must hold for any input: nothing but :class:`ConfigError` escapes, and the work
grows linearly with the input.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.config.env import expand, expand_tree, load_dotenv
from agent.config.files import read_document
from agent.config.providers import load_provider
from agent.config.servers import load_mcp_config
from agent.errors import ConfigError
from tests.security.linearity import assert_linear

VARIABLE_TEXT = st.text(alphabet=st.sampled_from(list("${}:-$AB_x \\n")), max_size=200)
YAML_TEXT = st.text(alphabet=st.sampled_from(list("ab:-[]{}&*!|>'\"#,\n 0.${}")), max_size=300)
ENVS = st.dictionaries(st.sampled_from(["A", "B", "AB", "x"]), st.text(max_size=5), max_size=4)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)
SERVER_ENTRIES = st.dictionaries(
    st.sampled_from(["command", "args", "env", "cwd", "url", "headers", "type", "disabled", "mode", "x"]),
    JSON_VALUES,
    max_size=5,
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@given(text=VARIABLE_TEXT, env=ENVS)
def test_expansion_returns_text_or_a_config_error(text: str, env: dict[str, str]) -> None:
    try:
        assert isinstance(expand(text, env, source="f", field="x"), str)
    except ConfigError as exc:
        assert str(exc).startswith("f: x: ")


@given(tree=JSON_VALUES, env=ENVS)
def test_expanding_a_document_keeps_its_shape(tree: Any, env: dict[str, str]) -> None:
    try:
        expanded = expand_tree(tree, env, "f")
    except ConfigError:
        return
    assert type(expanded) is type(tree)


@given(text=YAML_TEXT)
@settings(max_examples=300)
def test_any_yaml_file_is_a_mapping_or_a_config_error(scratch: Path, text: str) -> None:
    path = scratch / "fuzz.yaml"
    path.write_text(text)
    with contextlib.suppress(ConfigError):
        assert isinstance(read_document(path), dict)


@given(data=st.binary(max_size=200))
def test_any_bytes_as_json_are_a_mapping_or_a_config_error(scratch: Path, data: bytes) -> None:
    path = scratch / "fuzz.json"
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        assert isinstance(read_document(path), dict)


@given(data=st.binary(max_size=200))
def test_any_dotenv_file_is_variables_or_a_config_error(scratch: Path, data: bytes) -> None:
    path = scratch / "fuzz.env"
    path.write_bytes(data)
    try:
        assert all(isinstance(v, str) for v in load_dotenv(path).values())
    except ConfigError as exc:
        assert "\n" not in str(exc)


@given(servers=st.dictionaries(st.text(max_size=6), SERVER_ENTRIES | JSON_VALUES, max_size=3))
def test_any_mcp_servers_document_loads_or_is_one_config_error_line(scratch: Path, servers: Any) -> None:
    path = scratch / "mcp.json"
    path.write_text(json.dumps({"mcpServers": servers}))
    try:
        load_mcp_config(path, env={"A": "1"}, include_disabled=True)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@given(
    settings_block=st.dictionaries(
        st.sampled_from(
            [
                "api_endpoint",
                "default_model",
                "timeout_seconds",
                "max_retries",
                "context_window",
                "headers",
                "fallback_models",
                "api_key",
                "x",
            ]
        ),
        JSON_VALUES,
        max_size=6,
    )
)
def test_any_provider_file_loads_or_is_one_config_error_line(scratch: Path, settings_block: Any) -> None:
    path = scratch / "p.json"
    document = {"interface_type": "openai_compatible", "provider_name": "p", "config": settings_block}
    path.write_text(json.dumps(document))
    try:
        load_provider(None, explicit=path, cwd=scratch, env={})
    except ConfigError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize(
    "unit",
    ["${A:-x}", "$$", "${", "${A:-${B}}", "${A:-", "x}", "${A}" + "a" * 10],
    ids=["defaults", "dollars", "unclosed", "nested", "open-default", "closers", "plain"],
)
def test_expansion_grows_linearly(unit: str) -> None:
    def run(text: str) -> None:
        with contextlib.suppress(ConfigError):
            expand(text, {"A": "v"})

    assert_linear(run, unit, 3_000)


@pytest.mark.parametrize(
    "unit",
    ["a: [1, 2, {b: c}]\n", "- &x y\n", "k: 'v'\n"],
    ids=["mappings", "anchors", "quoted"],
)
def test_yaml_parsing_grows_linearly(scratch: Path, unit: str) -> None:
    path = scratch / "grow.yaml"

    def run(text: str) -> None:
        path.write_text(text)
        with contextlib.suppress(ConfigError):
            read_document(path)

    assert_linear(run, unit, 100)
