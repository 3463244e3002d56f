from __future__ import annotations

from pathlib import Path

import pytest

import agent
from agent.config.paths import bundled_config_dir, config_dirs, user_config_dir
from agent.config.providers import load_provider
from agent.config.servers import find_mcp_config
from agent.config.trust import trust_directory
from agent.errors import ConfigError

REPO_CONFIG = Path(agent.__file__).resolve().parent.parent / "config"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AGENT_CONFIG_DIR": "/etc/agent-conf", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/etc/agent-conf"),
        ({"AGENT_CONFIG_DIR": "", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/agent"),
        ({"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/agent"),
        ({"HOME": "/h"}, "/h/.config/agent"),
        ({"AGENT_CONFIG_DIR": "relative/conf"}, "/work/dir/relative/conf"),
    ],
)
def test_user_config_dir_prefers_agent_config_dir_then_xdg_then_home(
    env: dict[str, str], expected: str
) -> None:
    assert user_config_dir(env, Path("/work/dir")) == Path(expected)


def test_bundled_config_dir_is_the_repository_config_in_a_checkout() -> None:
    assert bundled_config_dir() == REPO_CONFIG


def test_config_dirs_lists_each_directory_once_when_cwd_is_the_repository(tmp_path: Path) -> None:
    dirs = config_dirs(REPO_CONFIG.parent, {"AGENT_CONFIG_DIR": str(tmp_path / "absent")})
    assert dirs == [REPO_CONFIG.parent / "config"]


def provider_file(directory: Path, model: str) -> None:
    path = directory / "providers" / "openrouter.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(
        "interface_type: openai_compatible\nprovider_name: openrouter\n"
        f"config:\n  api_endpoint: https://openrouter.ai/api/v1\n  default_model: {model}\n"
    )


@pytest.mark.parametrize(
    ("layers", "expected_model"),
    [
        (("explicit", "local", "user"), "from-explicit"),
        (("local", "user"), "from-local"),
        (("explicit", "user"), "from-explicit"),
        (("user",), "from-user"),
        ((), "~anthropic/claude-sonnet-latest"),
    ],
)
def test_provider_lookup_order_is_explicit_then_local_then_user_then_bundled(
    tmp_path: Path, layers: tuple[str, ...], expected_model: str
) -> None:
    cwd, user, explicit = tmp_path / "work", tmp_path / "user", tmp_path / "explicit"
    cwd.mkdir()
    places = {"explicit": explicit, "local": cwd / "config", "user": user}
    for layer in layers:
        provider_file(places[layer], f"from-{layer}")
    env = {"AGENT_CONFIG_DIR": str(user)}
    trust_directory(cwd, env)
    chosen = load_provider(
        "openrouter", explicit=explicit if "explicit" in layers else None, cwd=cwd, env=env
    )
    assert chosen.config.default_model == expected_model


def test_a_provider_missing_from_the_explicit_directory_falls_through_to_the_next(tmp_path: Path) -> None:
    explicit = tmp_path / "explicit"
    (explicit / "providers").mkdir(parents=True)
    env = {"AGENT_CONFIG_DIR": str(tmp_path / "user")}
    chosen = load_provider("openai", explicit=explicit, cwd=tmp_path, env=env)
    assert (chosen.provider_name, chosen.source) == ("openai", str(REPO_CONFIG / "providers" / "openai.yaml"))


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (("work/config/mcp.json", "user/mcp.json"), "work/config/mcp.json"),
        (("work/config/mcp.yaml", "work/config/mcp.json"), "work/config/mcp.json"),
        (("work/config/mcp.yml", "user/mcp.json"), "work/config/mcp.yml"),
        (("user/mcp.yaml",), "user/mcp.yaml"),
        (("work/mcp.json", "work/config/mcp.example.json"), None),
        ((), None),
    ],
)
def test_mcp_config_lookup_order_is_local_then_user_and_bundled_has_none(
    tmp_path: Path, files: tuple[str, ...], expected: str | None
) -> None:
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    (tmp_path / "work").mkdir(exist_ok=True)
    env = {"AGENT_CONFIG_DIR": str(tmp_path / "user")}
    trust_directory(tmp_path / "work", env)
    found = find_mcp_config(None, tmp_path / "work", env)
    assert found == (tmp_path / expected if expected else None)


def test_explicit_mcp_config_wins_and_may_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "mcp.json").write_text("{}")
    (tmp_path / "mine.yaml").write_text("{}")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "mcp.yml").write_text("{}")
    env = {"AGENT_CONFIG_DIR": str(tmp_path / "user")}
    assert [
        find_mcp_config(tmp_path / "mine.yaml", tmp_path, env),
        find_mcp_config(tmp_path / "dir", tmp_path, env),
    ] == [tmp_path / "mine.yaml", tmp_path / "dir" / "mcp.yml"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.json", "{path}: file not found"),
        ("empty-dir", "{path}: no mcp.json, mcp.yaml, mcp.yml in this directory"),
    ],
)
def test_explicit_mcp_config_that_is_absent_is_a_config_error(
    tmp_path: Path, name: str, message: str
) -> None:
    (tmp_path / "empty-dir").mkdir()
    with pytest.raises(ConfigError) as caught:
        find_mcp_config(tmp_path / name, tmp_path, {"AGENT_CONFIG_DIR": str(tmp_path / "user")})
    assert str(caught.value) == message.format(path=tmp_path / name)
