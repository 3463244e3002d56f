from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config.servers import HttpServerConfig, ServerConfig, StdioServerConfig, load_mcp_config
from agent.config.trust import trust_directory
from agent.errors import ConfigError

YAML_DUMP = functools.partial(yaml.safe_dump, sort_keys=False)
ENV = {"TOKEN": "tok-123", "ROOT": "/data", "HOME": "/home/ada"}

DOCUMENT: dict[str, Any] = {
    "_comment": "ignored",
    "mcpServers": {
        "files": {
            "command": "npx",
            "args": ["-y", "@modelcontextprotocol/server-filesystem", "${ROOT}", "${EXTRA:-/tmp}"],
            "env": {"GITHUB_TOKEN": "${TOKEN}"},
            "cwd": "sub",
            "_comment": "also ignored",
        },
        "time": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time", "--port", 8080]},
        "remote": {
            "url": "http://127.0.0.1:8000/mcp/",
            "headers": {"Authorization": "Bearer ${TOKEN}"},
            "mode": "auto",
            "startup_timeout": 5,
            "tool_timeout": 60,
        },
        "legacy": {"type": "sse", "url": "https://example.com/sse"},
        "plain-http": {"type": "http", "url": "https://example.com/mcp"},
        "off": {"command": "missing-tool", "args": ["${UNSET_BUT_DISABLED}"], "disabled": True},
    },
}


def expected_servers(directory: Path) -> dict[str, ServerConfig]:
    return {
        "files": StdioServerConfig(
            command="npx",
            args=["-y", "@modelcontextprotocol/server-filesystem", "/data", "/tmp"],
            env={"GITHUB_TOKEN": "tok-123"},
            cwd=str(directory / "sub"),
        ),
        "time": StdioServerConfig(command="uvx", args=["mcp-server-time", "--port", "8080"]),
        "remote": HttpServerConfig(
            url="http://127.0.0.1:8000/mcp/",
            headers={"Authorization": "Bearer tok-123"},
            mode="auto",
            startup_timeout=5,
            tool_timeout=60,
        ),
        "legacy": HttpServerConfig(type="sse", url="https://example.com/sse"),
        "plain-http": HttpServerConfig(type="http", url="https://example.com/mcp"),
    }


@pytest.mark.parametrize(
    ("name", "dump"),
    [("mcp.json", json.dumps), ("mcp.yaml", YAML_DUMP), ("mcp.yml", YAML_DUMP)],
)
def test_mcp_config_in_json_or_yaml_loads_every_entry_expanded(tmp_path: Path, name: str, dump: Any) -> None:
    path = tmp_path / name
    path.write_text(dump(DOCUMENT))
    servers = load_mcp_config(path, env=ENV)
    assert servers == expected_servers(tmp_path)
    assert list(servers) == ["files", "time", "remote", "legacy", "plain-http"]


def test_defaults_are_a_remembered_era_thirty_second_startup_and_enabled(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{"mcpServers": {"a": {"command": "a"}}}')
    (config,) = load_mcp_config(path, env={}).values()
    assert config.model_dump() == {
        "type": "stdio",
        "command": "a",
        "args": [],
        "env": {},
        "cwd": None,
        "startup_timeout": 30.0,
        "tool_timeout": None,
        "mode": None,
        "disabled": False,
        "allow": None,
        "deny": [],
    }


def test_disabled_entries_are_skipped_or_kept_unexpanded_on_request(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(DOCUMENT))
    servers = load_mcp_config(path, env=ENV, include_disabled=True)
    assert servers["off"] == StdioServerConfig(
        command="missing-tool", args=["${UNSET_BUT_DISABLED}"], disabled=True
    )


def test_env_and_header_values_stay_out_of_reprs(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps(DOCUMENT))
    servers = load_mcp_config(path, env=ENV)
    assert [ENV["TOKEN"] in repr(config) for config in servers.values()] == [False] * 5


def test_default_environment_includes_dotenv_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AGENT_T_SERVER_CMD", raising=False)
    (tmp_path / ".env").write_text("AGENT_T_SERVER_CMD=from-dotenv\n")
    (tmp_path / "mcp.json").write_text('{"mcpServers": {"a": {"command": "${AGENT_T_SERVER_CMD}"}}}')
    trust_directory(tmp_path, os.environ)
    assert load_mcp_config(tmp_path / "mcp.json") == {"a": StdioServerConfig(command="from-dotenv")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}", "mcpServers: required field is missing"),
        ('{"mcpServers": {}, "servers": {}}', "servers: unknown field; expected one of: mcpServers"),
        ('{"mcpServers": []}', "mcpServers: expected a mapping, got a list"),
        ('{"mcpServers": {"a": "npx"}}', "mcpServers.a: expected a mapping with 'command' or 'url'"),
        ('{"mcpServers": {"": {"command": "x"}}}', "mcpServers: expected non-empty server names"),
        (
            '{"mcpServers": {"a": {"args": []}}}',
            "mcpServers.a: expected 'command' (stdio server) or 'url' (HTTP server)",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "url": "http://h"}}}',
            "mcpServers.a: expected either 'command' (stdio server) or 'url' (HTTP server), not both",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "envFile": ".env"}}}',
            "mcpServers.a.envFile: unknown field; expected one of: allow, args, command, cwd, deny, "
            "disabled, env, mode, startup_timeout, tool_timeout, type",
        ),
        (
            '{"mcpServers": {"a": {"url": "http://h", "env": {}}}}',
            "mcpServers.a.env: unknown field; expected one of: allow, deny, disabled, headers, mode, oauth, "
            "startup_timeout, tool_timeout, type, url",
        ),
        (
            '{"mcpServers": {"a": {"command": ""}}}',
            "mcpServers.a.command: expected a non-empty string, got ''",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "args": "-y"}}}',
            "mcpServers.a.args: expected a list, got '-y'",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "args": [true]}}}',
            "mcpServers.a.args[0]: expected a string, got true",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "env": {"TOKEN": ["s3cret"]}}}}',
            "mcpServers.a.env.TOKEN: expected a string, got a list",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "mode": "fast"}}}',
            "mcpServers.a.mode: expected 'legacy', 'auto' or '2026-07-28', got 'fast'",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "startup_timeout": -1}}}',
            "mcpServers.a.startup_timeout: expected a number greater than 0, got -1",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "disabled": "maybe"}}}',
            "mcpServers.a.disabled: expected true or false, got 'maybe'",
        ),
        (
            '{"mcpServers": {"a": {"url": "ftp://h/x"}}}',
            "mcpServers.a.url: expected an http:// or https:// URL, got 'ftp://h/x'",
        ),
        (
            '{"mcpServers": {"a": {"url": "http://h", "type": "websocket"}}}',
            "mcpServers.a.type: expected 'http', 'streamable-http' or 'sse', got 'websocket'",
        ),
        (
            '{"mcpServers": {"a": {"command": "x", "args": ["ok", "${NOPE}"]}}}',
            "mcpServers.a.args[1]: environment variable NOPE is not set",
        ),
        (
            '{"mcpServers": {"a": {"url": "http://h", "headers": {"Authorization": "Bearer ${NOPE}"}}}}',
            "mcpServers.a.headers.Authorization: environment variable NOPE is not set",
        ),
        (
            '{\n  "mcpServers": {\n    "a": {"command": "x"}\n    "b": {}\n',
            "line 4: invalid JSON: Expecting ',' delimiter (column 5)",
        ),
        ("", "file is empty; expected a mapping"),
        ("[]", "expected a mapping at the top level, got a list"),
    ],
)
def test_invalid_mcp_config_is_one_line_naming_file_field_and_expectation(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_mcp_config(path, env={})
    assert str(caught.value) == f"{path}: {message}"


def test_missing_mcp_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_mcp_config(tmp_path / "mcp.json", env={})
    assert str(caught.value) == f"{tmp_path / 'mcp.json'}: file not found"


def test_shipped_example_mcp_config_is_valid() -> None:
    from agent.config.paths import bundled_config_dir

    bundled = bundled_config_dir()
    assert bundled is not None
    env = {"AGENT_PYTHON": "/usr/bin/python3"}
    servers = load_mcp_config(bundled / "mcp.example.json", env=env, include_disabled=True)
    assert {name: (type(config).__name__, config.disabled) for name, config in servers.items()} == {
        "notes": ("StdioServerConfig", False),
        "scratch": ("StdioServerConfig", True),
        "db": ("StdioServerConfig", True),
        "everything": ("StdioServerConfig", True),
        "remote": ("HttpServerConfig", True),
        "signed-in": ("HttpServerConfig", True),
    }
