"""``agent init`` never shows the pasted key, and writes it to a file only when asked (that file 0600).

The key is typed without echo at a real pseudo-terminal; afterwards every file under the home
directory (config, cache, data) and everything on the screen and stdout is searched for it.
Keys of two shapes are used: OpenRouter's, and one no redaction pattern would catch.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.integration.cli_helpers import agent_env, at_a_terminal, run_agent_cli
from tests.integration.test_cli_init import ANOTHER, CATALOG, MODEL, SERVERS, STORE, WRITE, conversation
from tests.loopback import ScriptedOpenRouter, key_info

KEYS = ["sk-or-v1-security-test-key-31415926535897932384", "plainsecret0123456789ABCDEFwxyz"]


def files_holding(home: Path, secret: str) -> list[Path]:
    """Every file under ``home`` whose bytes contain ``secret``."""
    return sorted(p for p in home.rglob("*") if p.is_file() and secret.encode() in p.read_bytes())


def init_at_a_terminal(home: Path, key: str, store: bytes) -> tuple[int, str, str]:
    person = conversation(
        (b"or type the endpoint's URL [1]: ", b"\n"),
        (b"Choose [1]: ", b"1\n"),
        (b"Paste the key (hidden): ", key.encode() + b"\n"),
        (STORE, store),
        (MODEL, b"2\n"),
        (SERVERS, b"2\n"),
        (ANOTHER, b"\n"),
        (WRITE, b"\n"),
    )
    with ScriptedOpenRouter(catalog=CATALOG, key=key_info(), api_key=key) as server:
        env = agent_env(server.base_url, home)
        del env["OPENROUTER_API_KEY"]
        return at_a_terminal(["init"], env, home, person)


@pytest.mark.parametrize("key", KEYS)
def test_a_pasted_key_not_stored_is_in_no_file_and_never_on_screen(tmp_path: Path, key: str) -> None:
    code, screen, out = init_at_a_terminal(tmp_path, key, b"n\n")
    assert code == 0, screen
    assert key not in screen and key not in out
    assert "export OPENROUTER_API_KEY=" in out
    assert (tmp_path / "agent-config" / "mcp.json").is_file()  # init did write, just not the key
    assert files_holding(tmp_path, key) == []


@pytest.mark.parametrize("key", KEYS)
def test_a_stored_key_is_only_in_secrets_env_with_mode_0600(tmp_path: Path, key: str) -> None:
    code, screen, out = init_at_a_terminal(tmp_path, key, b"y\n")
    assert code == 0, screen
    assert key not in screen and key not in out
    secrets = tmp_path / "agent-config" / "secrets.env"
    assert files_holding(tmp_path, key) == [secrets]
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600


def test_a_key_named_by_variable_is_written_nowhere(tmp_path: Path) -> None:
    key = KEYS[1]
    with ScriptedOpenRouter(catalog=CATALOG, key=key_info(), api_key=key) as server:
        env = agent_env(server.base_url, tmp_path, MY_KEY=key)
        done = run_agent_cli(
            "init",
            "--key-env",
            "MY_KEY",
            "--model",
            "openai/gpt-4o-mini",
            "-s",
            "calc",
            env=env,
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    assert key not in done.stdout and key not in done.stderr
    assert files_holding(tmp_path, key) == []
