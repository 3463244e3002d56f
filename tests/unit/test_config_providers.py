from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import SecretStr

from agent.config.paths import bundled_config_dir
from agent.config.providers import ProviderSettings, available_providers, load_provider
from agent.config.trust import trust_directory
from agent.errors import ConfigError

SEED = """\
interface_type: openai_compatible
provider_name: openrouter
config:
  api_key: ${OPENROUTER_API_KEY}
  api_endpoint: https://openrouter.ai/api/v1
  default_model: anthropic/claude-3.5-sonnet
  timeout_seconds: 300
  max_retries: 2
  context_window: 200000
  reserve_tokens: 2000
"""
KEY = "sk-or-v1-0123456789abcdef"


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with an empty user config dir, so only tmp files and bundled ones count."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("AGENT_CONFIG_DIR", str(tmp_path / "user"))
    return work


def write_provider(directory: Path, name: str, text: str) -> Path:
    path = directory / "providers" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    if directory.name == "config":  # the working directory's config: trusted, as after `agent trust`
        trust_directory(directory.parent, {"AGENT_CONFIG_DIR": str(directory.parent.parent / "user")})
    return path


def env_for(cwd: Path, **values: str) -> dict[str, str]:
    return {"AGENT_CONFIG_DIR": str(cwd.parent / "user"), **values}


def test_seed_file_loads_into_the_full_provider_config(cwd: Path) -> None:
    write_provider(cwd / "config", "openrouter", SEED)
    config = load_provider("openrouter", explicit=None, cwd=cwd, env=env_for(cwd, OPENROUTER_API_KEY=KEY))
    assert (config.interface_type, config.provider_name, config.config) == (
        "openai_compatible",
        "openrouter",
        ProviderSettings(
            api_key=SecretStr(KEY),
            api_endpoint="https://openrouter.ai/api/v1",
            default_model="anthropic/claude-3.5-sonnet",
            timeout_seconds=300,
            max_retries=2,
            context_window=200000,
            reserve_tokens=2000,
        ),
    )
    assert config.source == "config/providers/openrouter.yaml"
    assert config.require_api_key() == KEY


def test_optional_fields_fallback_models_and_headers_are_read(cwd: Path) -> None:
    write_provider(
        cwd / "config",
        "local",
        """\
        interface_type: openai_compatible
        provider_name: local
        config:
          api_endpoint: http://127.0.0.1:${PORT:-8000}/v1/
          default_model: qwen
          fallback_models: [a/b, c/d]
          headers: {X-Title: agent}
        """,
    )
    config = load_provider("local", explicit=None, cwd=cwd, env=env_for(cwd))
    assert config.config == ProviderSettings(
        api_endpoint="http://127.0.0.1:8000/v1",
        default_model="qwen",
        fallback_models=["a/b", "c/d"],
        headers={"X-Title": "agent"},
    )


def test_shipped_provider_files_are_valid() -> None:
    bundled = bundled_config_dir()
    assert bundled is not None
    env = {"AGENT_CONFIG_DIR": str(bundled / "absent")}
    names = available_providers(bundled, env)
    assert names == ["openai", "openrouter"]
    endpoints = {
        name: load_provider(name, explicit=bundled / "providers" / f"{name}.yaml", cwd=bundled, env=env)
        for name in names
    }
    assert {
        name: (c.provider_name, c.config.api_endpoint, c.config.default_model)
        for name, c in endpoints.items()
    } == {
        "openai": ("openai", "https://api.openai.com/v1", "gpt-4o-mini"),
        "openrouter": ("openrouter", "https://openrouter.ai/api/v1", "~anthropic/claude-sonnet-latest"),
    }


def test_missing_api_key_variable_is_raised_only_when_the_key_is_required(cwd: Path) -> None:
    write_provider(cwd / "config", "openrouter", SEED)
    config = load_provider("openrouter", explicit=None, cwd=cwd, env=env_for(cwd))
    assert config.config.api_key is None
    with pytest.raises(ConfigError) as caught:
        config.require_api_key()
    assert str(caught.value) == (
        "no API key: set OPENROUTER_API_KEY (create a key at https://openrouter.ai/settings/keys), "
        "or api_key in config/providers/openrouter.yaml"
    )
    assert caught.value.exit_code == 2


OPENROUTER_FILE = "interface_type: openai_compatible\nprovider_name: openrouter\n"
OPENROUTER_FILE += "config:\n  api_endpoint: https://openrouter.ai/api/v1\n  default_model: m\n"


@pytest.mark.parametrize(
    ("key_line", "env", "message"),
    [
        (
            "  api_key: ${OPENROUTER_API_KEY}\n",
            {},
            "no API key: set OPENROUTER_API_KEY (create a key at https://openrouter.ai/settings/keys), "
            "or api_key in config/providers/openrouter.yaml",
        ),
        (
            "  api_key: ${MY_ROUTER_KEY}\n",
            {},
            "no API key: set MY_ROUTER_KEY (create a key at https://openrouter.ai/settings/keys), "
            "or api_key in config/providers/openrouter.yaml",
        ),
        (
            "  api_key: ${OPENROUTER_API_KEY}\n",
            {"OPENROUTER_API_KEY": " "},
            "no API key: OPENROUTER_API_KEY is empty; set it (create a key at "
            "https://openrouter.ai/settings/keys), or api_key in config/providers/openrouter.yaml",
        ),
        (
            "  api_key: ${OPENROUTER_API_KEY:-}\n",
            {},
            "no API key: set OPENROUTER_API_KEY (create a key at https://openrouter.ai/settings/keys), "
            "or api_key in config/providers/openrouter.yaml",
        ),
        (
            "  api_key: ''\n",
            {},
            "no API key: api_key in config/providers/openrouter.yaml is empty; set it to your key "
            "(create a key at https://openrouter.ai/settings/keys)",
        ),
        (
            "",
            {},
            "no API key: config/providers/openrouter.yaml has no api_key; add api_key: "
            "${OPENROUTER_API_KEY} and set OPENROUTER_API_KEY (create a key at "
            "https://openrouter.ai/settings/keys)",
        ),
    ],
    ids=["unset", "unset-own-variable", "empty", "unset-with-empty-default", "empty-literal", "absent"],
)
def test_a_missing_openrouter_key_says_which_variable_to_set_and_where_keys_are_created(
    cwd: Path, key_line: str, env: dict[str, str], message: str
) -> None:
    write_provider(cwd / "config", "openrouter", OPENROUTER_FILE + key_line)
    config = load_provider("openrouter", explicit=None, cwd=cwd, env=env_for(cwd, **env))
    with pytest.raises(ConfigError) as caught:
        config.require_api_key()
    assert (str(caught.value), caught.value.exit_code) == (message, 2)


@pytest.mark.parametrize(
    ("key_line", "message"),
    [
        ("  api_key: ${P_KEY}\n", "no API key: environment variable P_KEY is not set"),
        (
            "  api_key: ${OPENROUTER_API_KEY}\n",
            "no API key: environment variable OPENROUTER_API_KEY is empty",
        ),
        ("  api_key: ''\n", "no API key: the value is empty"),
        ("", "no API key configured; expected e.g. api_key: ${P_API_KEY}"),
    ],
)
def test_a_missing_key_of_another_provider_names_the_file_and_field(
    cwd: Path, key_line: str, message: str
) -> None:
    base = "interface_type: openai_compatible\nprovider_name: p\n"
    base += "config:\n  api_endpoint: http://h\n  default_model: m\n"
    write_provider(cwd / "config", "p", base + key_line)
    config = load_provider("p", explicit=None, cwd=cwd, env=env_for(cwd, OPENROUTER_API_KEY=""))
    with pytest.raises(ConfigError) as caught:
        config.require_api_key()
    assert str(caught.value) == f"config/providers/p.yaml: config.api_key: {message}"


def test_a_malformed_key_reference_is_reported_as_the_syntax_error_it_is(cwd: Path) -> None:
    write_provider(cwd / "config", "openrouter", OPENROUTER_FILE + "  api_key: ${OPENROUTER_API_KEY\n")
    config = load_provider("openrouter", explicit=None, cwd=cwd, env=env_for(cwd))
    with pytest.raises(ConfigError) as caught:
        config.require_api_key()
    assert str(caught.value) == (
        "config/providers/openrouter.yaml: config.api_key: unclosed variable reference "
        "'${OPENROUTER_API_KEY'; expected ${NAME} or ${NAME:-default}"
    )


def test_an_unset_variable_in_another_providers_file_is_not_an_error(cwd: Path) -> None:
    write_provider(cwd / "config", "openrouter", SEED)
    write_provider(
        cwd / "config", "broken", SEED.replace("https://openrouter.ai/api/v1", "${NOT_SET_ANYWHERE}")
    )
    config = load_provider("openrouter", explicit=None, cwd=cwd, env=env_for(cwd, OPENROUTER_API_KEY=KEY))
    assert config.require_api_key() == KEY


@pytest.mark.parametrize(
    ("base_url", "provider_name", "expected"),
    [
        ("http://127.0.0.1:8123/api/v1/", "openrouter", "http://127.0.0.1:8123/api/v1"),
        ("", "openrouter", "https://openrouter.ai/api/v1"),
        ("http://127.0.0.1:8123/api/v1", "other", "https://openrouter.ai/api/v1"),
    ],
)
def test_openrouter_base_url_overrides_the_endpoint_of_the_openrouter_provider_only(
    cwd: Path, base_url: str, provider_name: str, expected: str
) -> None:
    write_provider(
        cwd / "config", "p", SEED.replace("provider_name: openrouter", f"provider_name: {provider_name}")
    )
    env = env_for(cwd, OPENROUTER_BASE_URL=base_url, OPENROUTER_API_KEY=KEY)
    assert load_provider("p", explicit=None, cwd=cwd, env=env).config.api_endpoint == expected


def test_a_bad_openrouter_base_url_names_the_variable(cwd: Path) -> None:
    write_provider(cwd / "config", "openrouter", SEED)
    with pytest.raises(ConfigError) as caught:
        load_provider(
            "openrouter", explicit=None, cwd=cwd, env=env_for(cwd, OPENROUTER_BASE_URL="localhost:8080")
        )
    assert str(caught.value) == (
        "environment variable OPENROUTER_BASE_URL: expected an http:// or https:// URL"
    )


def test_the_api_key_never_appears_in_repr_str_or_dumps(cwd: Path) -> None:
    write_provider(cwd / "config", "openrouter", SEED)
    config = load_provider("openrouter", explicit=None, cwd=cwd, env=env_for(cwd, OPENROUTER_API_KEY=KEY))
    shown = [
        repr(config),
        str(config),
        repr(config.config),
        config.model_dump_json(),
        str(config.model_dump()),
    ]
    assert [KEY in text for text in shown] == [False] * len(shown)


def test_a_type_error_in_the_api_key_field_does_not_show_the_value(cwd: Path) -> None:
    write_provider(cwd / "config", "p", SEED.replace("${OPENROUTER_API_KEY}", "[sk-or-v1-secret]"))
    with pytest.raises(ConfigError) as caught:
        load_provider("p", explicit=None, cwd=cwd, env=env_for(cwd))
    assert str(caught.value) == "config/providers/p.yaml: config.api_key: expected a string, got a list"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("timeout_seconds: 300", "timeout_seconds: abc"),
            "config.timeout_seconds: expected a number, got 'abc'",
        ),
        (
            ("timeout_seconds: 300", "timeout_seconds: 0"),
            "config.timeout_seconds: expected a number greater than 0, got 0",
        ),
        (("max_retries: 2", "max_retries: 1.5"), "config.max_retries: expected an integer, got 1.5"),
        (("max_retries: 2", "max_retries: -1"), "config.max_retries: expected a number at least 0, got -1"),
        (("max_retries: 2", "max_retries: [1]"), "config.max_retries: expected an integer, got a list"),
        (
            ("  default_model: anthropic/claude-3.5-sonnet\n", ""),
            "config.default_model: required field is missing",
        ),
        (
            ("interface_type: openai_compatible", "interface_type: anthropic"),
            "interface_type: expected 'openai_compatible', got 'anthropic'",
        ),
        (
            ("reserve_tokens: 2000", "reserve_tokens: 2000\n  temperature: 0.2"),
            "config.temperature: unknown field; expected one of: api_endpoint, api_key, auto_fallback, "
            "context_window, default_model, fallback_models, headers, max_retries, prompt_cache, provider, "
            "reasoning, reserve_tokens, timeout_seconds",
        ),
        (
            ("provider_name: openrouter", "provider_name: openrouter\nmodels: []"),
            "models: unknown field; expected one of: config, interface_type, provider_name",
        ),
        (
            ("https://openrouter.ai/api/v1", "openrouter.ai"),
            "config.api_endpoint: expected an http:// or https:// URL, got 'openrouter.ai'",
        ),
        (
            ("https://openrouter.ai/api/v1", "${BASE}"),
            "config.api_endpoint: environment variable BASE is not set",
        ),
        (
            ("timeout_seconds: 300", "timeout_seconds: ${TIMEOUT:-ten}"),
            "config.timeout_seconds: expected a number, got '${TIMEOUT:-ten}'",
        ),
        (
            ("max_retries: 2\n  context_window: 200000", "max_retries: oops\n  context_window: big"),
            "config.max_retries: expected an integer, got 'oops' (and 1 more problem)",
        ),
        (
            ("  timeout_seconds: 300\n", "  timeout_seconds: 300\n bad: [\n"),
            "line 8: invalid YAML: expected <block end>, but found '<block mapping start>' (column 2)",
        ),
    ],
)
def test_invalid_provider_file_is_one_line_naming_file_field_and_expectation(
    cwd: Path, edit: tuple[str, str], message: str
) -> None:
    old, new = edit
    assert old in SEED
    write_provider(cwd / "config", "openrouter", SEED.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_provider("openrouter", explicit=None, cwd=cwd, env=env_for(cwd))
    assert str(caught.value) == f"config/providers/openrouter.yaml: {message}"
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "file is empty; expected a mapping"),
        ("- a\n- b\n", "expected a mapping at the top level, got a list"),
        (
            "interface_type: openai_compatible\nprovider_name: p\nconfig: 3\n",
            "config: expected a mapping, got 3",
        ),
        ("key: [unclosed\n", "line 2: invalid YAML: expected ',' or ']', but got '<stream end>' (column 1)"),
    ],
)
def test_unparseable_provider_file_is_a_config_error_with_its_line(
    cwd: Path, text: str, message: str
) -> None:
    write_provider(cwd / "config", "openrouter", text)
    with pytest.raises(ConfigError) as caught:
        load_provider("openrouter", explicit=None, cwd=cwd, env=env_for(cwd))
    assert str(caught.value) == f"config/providers/openrouter.yaml: {message}"


def test_unknown_provider_lists_the_providers_found(cwd: Path) -> None:
    write_provider(cwd / "config", "local", SEED)
    with pytest.raises(ConfigError) as caught:
        load_provider("nope", explicit=None, cwd=cwd, env=env_for(cwd))
    assert str(caught.value) == "unknown provider 'nope'; providers found: local, openai, openrouter"


@pytest.mark.parametrize("name", ["../secrets", "a/b", "", ".hidden"])
def test_provider_names_that_are_not_plain_file_stems_are_refused(cwd: Path, name: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_provider(name, explicit=None, cwd=cwd, env=env_for(cwd))
    assert str(caught.value) == f"bad provider name {name!r}; expected letters, digits, '.', '_' or '-'"


def test_explicit_file_is_used_and_must_match_the_requested_provider(cwd: Path, tmp_path: Path) -> None:
    path = write_provider(
        tmp_path / "elsewhere", "mine", SEED.replace("provider_name: openrouter", "provider_name: x")
    )
    env = env_for(cwd)
    assert load_provider(None, explicit=path, cwd=cwd, env=env).provider_name == "x"
    assert load_provider("mine", explicit=path, cwd=cwd, env=env).provider_name == "x"
    with pytest.raises(ConfigError) as caught:
        load_provider("openrouter", explicit=path, cwd=cwd, env=env)
    assert str(caught.value) == f"{path}: provider_name: file is for provider 'x', not 'openrouter'"


def test_explicit_file_that_does_not_exist_is_a_config_error(cwd: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_provider(None, explicit=cwd / "missing.yaml", cwd=cwd, env=env_for(cwd))
    assert str(caught.value) == "missing.yaml: file not found"
