"""What `agent init` writes (:mod:`agent.config.setup`), and where secrets.env sits among the variables."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from agent.config.env import environment
from agent.config.server_templates import server_entry
from agent.config.setup import (
    SetupPlan,
    check_key,
    find_provider,
    mask_key,
    new_provider,
    plan_files,
    write_files,
)
from agent.errors import ConfigError

PY = "${AGENT_PYTHON}"


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("sk-or-v1-0123456789abcdef0123456789abcdef", "sk-or-v1-…def"),
        ("plainsecret0123456789ABCDEFwxyz", "plains…xyz"),
        ("short-key", "…"),
    ],
)
def test_mask_key_shows_only_the_start_and_the_last_three_characters(key: str, shown: str) -> None:
    assert mask_key(key) == shown


@pytest.mark.parametrize("pasted", ["", "   ", "sk-or-v1 abc", "sk-or-\x1b[2J", "'sk-or-v1-abc'", "a#b"])
def test_check_key_refuses_a_paste_gone_wrong_without_showing_it(pasted: str) -> None:
    with pytest.raises(ValueError) as caught:
        check_key(pasted)
    assert pasted.strip() == "" or pasted not in str(caught.value)


@pytest.mark.parametrize(
    ("spec", "name", "entry"),
    [
        ("calc", "calculator", {"command": PY, "args": ["-P", "-m", "servers.calc"]}),
        ("calculator", "calculator", {"command": PY, "args": ["-P", "-m", "servers.calc"]}),
        ("fs", "files", {"command": PY, "args": ["-P", "-m", "servers.fs", "."]}),
        ("memory", "memory", {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}),
        ("time", "time", {"command": "uvx", "args": ["mcp-server-time"]}),
        ("git", "git", {"command": "uvx", "args": ["mcp-server-git"]}),
        ("fetch", "fetch", {"command": "uvx", "args": ["mcp-server-fetch"]}),
        (
            "npx -y @modelcontextprotocol/server-everything",
            "everything",
            {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]},
        ),
        (
            "uvx mcp-server-sentry --x 1",
            "sentry",
            {"command": "uvx", "args": ["mcp-server-sentry", "--x", "1"]},
        ),
        (
            "docker run -i --rm mcp/fetch",
            "fetch",
            {"command": "docker", "args": ["run", "-i", "--rm", "mcp/fetch"]},
        ),
        ("clock=uvx mcp-server-time", "clock", {"command": "uvx", "args": ["mcp-server-time"]}),
        ("https://mcp.example.com/mcp", "mcp.example.com", {"url": "https://mcp.example.com/mcp"}),
        ("https://old.example/sse", "old.example", {"url": "https://old.example/sse", "type": "sse"}),
    ],
)
def test_server_entry_turns_a_spec_into_an_mcp_servers_entry(
    tmp_path: Path, spec: str, name: str, entry: dict[str, Any]
) -> None:
    assert server_entry(spec, tmp_path) == (name, entry)


def test_server_entry_makes_paths_absolute_and_checks_them(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "shop.db").write_bytes(b"")
    assert server_entry("files:notes", tmp_path)[1]["args"][-1] == str(tmp_path / "notes")
    assert server_entry("sqlite:shop.db", tmp_path)[1]["args"][-1] == str(tmp_path / "shop.db")
    with pytest.raises(ConfigError, match="directory not found"):
        server_entry("fs:missing", tmp_path)
    with pytest.raises(ConfigError, match="db needs a database file"):
        server_entry("db", tmp_path)
    with pytest.raises(ConfigError, match="unknown server 'nonsense'"):
        server_entry("nonsense", tmp_path)


def test_plan_writes_no_provider_file_when_the_bundled_one_already_says_it(tmp_path: Path) -> None:
    openrouter = find_provider("openrouter", tmp_path)
    assert openrouter is not None
    same = SetupPlan(openrouter, openrouter.default_model, "OPENROUTER_API_KEY")
    assert plan_files(same, tmp_path) == []
    other = SetupPlan(openrouter, "openai/gpt-4o-mini", "OPENROUTER_API_KEY")
    [planned] = plan_files(other, tmp_path)
    assert planned.path == tmp_path / "providers" / "openrouter.yaml"
    assert "default_model: openai/gpt-4o-mini" in planned.text


def test_a_stored_key_replaces_its_line_in_secrets_env_and_keeps_the_others(tmp_path: Path) -> None:
    (tmp_path / "secrets.env").write_text("OTHER=1\nexport OPENROUTER_API_KEY=old-key-value\n")
    provider = new_provider("http://127.0.0.1:8080/v1", "local")
    plan = SetupPlan(provider, "m", "OPENROUTER_API_KEY", key=SecretStr("new-key-value-0123456789"))
    files = plan_files(plan, tmp_path)
    write_files(files)
    assert (tmp_path / "secrets.env").read_text() == "OTHER=1\nOPENROUTER_API_KEY=new-key-value-0123456789\n"
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600
    assert [p.summary for p in files if p.secret] == ["OPENROUTER_API_KEY=new-ke…789"]
    assert list(tmp_path.glob(".*.tmp")) == []


def test_servers_merge_keeping_other_entries_and_replacing_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "mcp.json").write_text(
        json.dumps({"mcpServers": {"a": {"command": "x"}, "memory": {"command": "y"}}})
    )
    provider = new_provider("http://127.0.0.1:8080/v1", "local")
    memory = server_entry("memory", tmp_path)[1]
    kept = SetupPlan(provider, "m", None, servers={"memory": memory, "time": {"command": "uvx"}})
    write_files(plan_files(kept, tmp_path))
    servers = json.loads((tmp_path / "mcp.json").read_text())["mcpServers"]
    assert servers == {"a": {"command": "x"}, "memory": {"command": "y"}, "time": {"command": "uvx"}}
    replaced = SetupPlan(provider, "m", None, servers={"memory": memory}, replace=frozenset({"memory"}))
    write_files(plan_files(replaced, tmp_path))
    assert json.loads((tmp_path / "mcp.json").read_text())["mcpServers"]["memory"] == memory


def test_a_provider_without_a_key_sends_a_placeholder_unless_its_variable_is_set(tmp_path: Path) -> None:
    plan = SetupPlan(new_provider("http://localhost:11434/v1"), "llama3", None)
    [planned] = plan_files(plan, tmp_path)
    assert "api_key: ${LOCALHOST_API_KEY:-none}" in planned.text


def test_secrets_env_is_read_under_a_trusted_dotenv_and_the_real_environment(tmp_path: Path) -> None:
    config = tmp_path / "config-dir"
    config.mkdir()
    (config / "secrets.env").write_text("A=from-secrets\nB=from-secrets\nC=from-secrets\nHOME=/elsewhere\n")
    real = {"AGENT_CONFIG_DIR": str(config), "C": "from-env", "HOME": str(tmp_path)}
    variables = environment(tmp_path, real)
    assert (variables["A"], variables["C"], variables["HOME"]) == ("from-secrets", "from-env", str(tmp_path))
