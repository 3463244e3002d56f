from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from agent.config.env import environment, expand, expand_tree, load_dotenv
from agent.config.trust import trust_directory
from agent.errors import ConfigError

ENV = {"HOME": "/home/ada", "EMPTY": "", "KEY": "sk-or-v1-abc", "PORT": "8080"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain text", "plain text"),
        ("${HOME}", "/home/ada"),
        ("${HOME}/data", "/home/ada/data"),
        ("Bearer ${KEY}", "Bearer sk-or-v1-abc"),
        ("http://127.0.0.1:${PORT}/v1", "http://127.0.0.1:8080/v1"),
        ("${EMPTY}", ""),
        ("${MISSING:-fallback}", "fallback"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${PORT:-9}", "8080"),
        ("${MISSING:-}", ""),
        ("${MISSING:-${HOME}/x}", "/home/ada/x"),
        ("${PORT:-${MISSING}}", "8080"),
        ("${MISSING:-a:b-c}", "a:b-c"),
        ("$$HOME", "$HOME"),
        ("cost: $5 or $", "cost: $5 or $"),
        ("$HOME", "$HOME"),
        ("${HOME}${PORT}", "/home/ada8080"),
    ],
)
def test_expand_replaces_variables_and_defaults(value: str, expected: str) -> None:
    assert expand(value, ENV, source="f.yaml", field="x") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${MISSING}", "f.yaml: a.b: environment variable MISSING is not set"),
        ("pre ${MISSING} post", "f.yaml: a.b: environment variable MISSING is not set"),
        ("${MISSING:-${ALSO_MISSING}}", "f.yaml: a.b: environment variable ALSO_MISSING is not set"),
        ("${}", "f.yaml: a.b: bad variable reference '${}'; expected ${NAME} or ${NAME:-default}"),
        ("${1ABC}", "f.yaml: a.b: bad variable reference '${1ABC}'; expected ${NAME} or ${NAME:-default}"),
        (
            "${HOME-x}",
            "f.yaml: a.b: bad variable reference '${HOME-x}'; expected ${NAME} or ${NAME:-default}",
        ),
        ("${HOME", "f.yaml: a.b: unclosed variable reference '${HOME'; expected ${NAME} or ${NAME:-default}"),
        (
            "${HOME:-x",
            "f.yaml: a.b: unclosed variable reference '${HOME:-x'; expected ${NAME} or ${NAME:-default}",
        ),
        (
            "${PORT:-${1}}",
            "f.yaml: a.b: bad variable reference '${1}'; expected ${NAME} or ${NAME:-default}",
        ),
    ],
)
def test_expand_error_names_file_field_and_problem(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        expand(value, ENV, source="f.yaml", field="a.b")
    assert str(caught.value) == message
    assert (caught.value.source, caught.value.field) == ("f.yaml", "a.b")


def test_expand_tree_expands_nested_strings_and_keeps_keys_and_scalars() -> None:
    data = {
        "${HOME}": "${HOME}",
        "args": ["-p", "${PORT}", 3, None],
        "nested": {"flag": True, "url": "http://h:${PORT}"},
    }
    assert expand_tree(data, ENV, "f.json") == {
        "${HOME}": "/home/ada",
        "args": ["-p", "8080", 3, None],
        "nested": {"flag": True, "url": "http://h:8080"},
    }


def test_expand_tree_error_carries_the_dotted_path_with_list_indexes() -> None:
    data = {"servers": {"fs": {"args": ["ok", "${NOPE}"]}}}
    with pytest.raises(ConfigError) as caught:
        expand_tree(data, ENV, "mcp.json", "root")
    assert str(caught.value) == "mcp.json: root.servers.fs.args[1]: environment variable NOPE is not set"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\nB=two words\n", {"A": "1", "B": "two words"}),
        ("# comment\n\n  \nA=1\n", {"A": "1"}),
        ("export A=1\nexport\tB=2\n", {"A": "1", "B": "2"}),
        ("A = spaced \n", {"A": "spaced"}),
        ("A=value # trailing comment\n", {"A": "value"}),
        ("A=val#ue\n", {"A": "val#ue"}),
        ("A='single # quoted ${X}'\n", {"A": "single # quoted ${X}"}),
        ('A="double\\nline \\"q\\" \\\\"\n', {"A": 'double\nline "q" \\'}),
        ('A="quoted" # comment\n', {"A": "quoted"}),
        ("A=\n", {"A": ""}),
        ("A=1=2\n", {"A": "1=2"}),
        ("A=1\nA=2\n", {"A": "2"}),
        ("DOTTED.key-1=x\n", {"DOTTED.key-1": "x"}),
    ],
)
def test_load_dotenv_parses_keys_quotes_comments_and_export(
    tmp_path: Path, text: str, expected: dict[str, str]
) -> None:
    path = tmp_path / ".env"
    path.write_text(text)
    assert load_dotenv(path) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A=1\nsk-or-v1-secret\n", "line 2: expected KEY=VALUE (KEY: letters, digits, _)"),
        ("=value\n", "line 1: expected KEY=VALUE (KEY: letters, digits, _)"),
        ("1A=x\n", "line 1: expected KEY=VALUE (KEY: letters, digits, _)"),
        ("A='open\n", "line 1: unclosed ' quote"),
        ('A="open\n', 'line 1: unclosed " quote'),
        ('A="x" y\n', 'line 1: unexpected text after the closing "'),
    ],
)
def test_load_dotenv_rejects_bad_lines_without_showing_their_content(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / ".env"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_dotenv(path)
    assert str(caught.value) == f"{path}: {message}"
    assert "secret" not in str(caught.value)


def test_load_dotenv_of_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_dotenv(tmp_path / "nope.env")
    assert str(caught.value) == f"{tmp_path / 'nope.env'}: file not found"


def test_environment_merges_dotenv_under_the_real_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("AGENT_T_ONLY_DOTENV=from-dotenv\nAGENT_T_BOTH=from-dotenv\n")
    monkeypatch.setenv("AGENT_T_BOTH", "from-environment")
    monkeypatch.delenv("AGENT_T_ONLY_DOTENV", raising=False)
    trust_directory(tmp_path, os.environ)
    env = environment(tmp_path)
    assert (env["AGENT_T_ONLY_DOTENV"], env["AGENT_T_BOTH"]) == ("from-dotenv", "from-environment")


def test_environment_ignores_the_dotenv_of_an_untrusted_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("AGENT_T_ONLY_DOTENV=from-dotenv\n")
    monkeypatch.delenv("AGENT_T_ONLY_DOTENV", raising=False)
    assert "AGENT_T_ONLY_DOTENV" not in environment(tmp_path)


def test_a_trusted_dotenv_cannot_move_the_user_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("AGENT_CONFIG_DIR=/elsewhere\nXDG_CONFIG_HOME=/x\nHOME=/h\nOK=1\n")
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    trust_directory(tmp_path, os.environ)
    env = environment(tmp_path, base={"AGENT_CONFIG_DIR": os.environ["AGENT_CONFIG_DIR"]})
    assert env == {
        "AGENT_CONFIG_DIR": os.environ["AGENT_CONFIG_DIR"],
        "OK": "1",
        "AGENT_PYTHON": sys.executable,
    }


def test_environment_without_dotenv_is_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENT_T_VAR", "x")
    env = environment(tmp_path)
    assert env["AGENT_T_VAR"] == "x"
    assert "AGENT_T_ONLY_DOTENV" not in env
