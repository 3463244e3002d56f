"""The ``oauth`` block of an HTTP server entry: what it turns on, and one-line errors without secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from agent.config.servers import HttpServerConfig, OAuthConfig, load_mcp_config
from agent.errors import ConfigError

SECRET = "s3cret-client-value"


def _load(tmp_path: Path, entry: dict[str, Any], env: dict[str, str] | None = None) -> HttpServerConfig:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"remote": {"url": "https://mcp.example.com/mcp", **entry}}}))
    config = load_mcp_config(path, env=env or {})["remote"]
    assert isinstance(config, HttpServerConfig)
    return config


@pytest.mark.parametrize(
    ("entry", "settings"),
    [
        ({}, OAuthConfig()),
        ({"oauth": True}, OAuthConfig()),
        ({"oauth": False}, None),
        ({"oauth": {"enabled": False, "client_id": "x"}}, None),
        ({"headers": {"Authorization": "Bearer static"}}, None),
        ({"headers": {"Authorization": "Bearer static"}, "oauth": True}, OAuthConfig()),
        (
            {
                "oauth": {
                    "client_metadata_url": "https://agent.example.com/client.json",
                    "callback_port": 8765,
                }
            },
            OAuthConfig(client_metadata_url="https://agent.example.com/client.json", callback_port=8765),
        ),
        (
            {
                "oauth": {
                    "client_id": "cli",
                    "client_secret": "${SECRET}",
                    "token_endpoint_auth_method": "client_secret_post",
                }
            },
            OAuthConfig(
                client_id="cli",
                client_secret=SecretStr(SECRET),
                token_endpoint_auth_method="client_secret_post",
            ),
        ),
    ],
)
def test_oauth_is_used_when_asked_for_unless_off_or_the_entry_brings_its_own_authorization(
    tmp_path: Path, entry: dict[str, Any], settings: OAuthConfig | None
) -> None:
    assert _load(tmp_path, entry, {"SECRET": SECRET}).oauth_settings == settings


def test_the_client_secret_stays_out_of_reprs(tmp_path: Path) -> None:
    config = _load(tmp_path, {"oauth": {"client_id": "cli", "client_secret": SECRET}})
    assert SECRET not in repr(config) and SECRET not in str(config.model_dump())


@pytest.mark.parametrize(
    ("oauth", "message"),
    [
        ("yes", "mcpServers.remote.oauth: expected a mapping, got 'yes'"),
        (
            {"client_secret": SECRET},
            "mcpServers.remote.oauth.client_id: expected a client_id to go with client_secret, got null",
        ),
        (
            {"client_id": "cli", "client_secret": [SECRET]},
            "mcpServers.remote.oauth.client_secret: expected a string, got a list",
        ),
        (
            {"client_id": "cli", "token_endpoint_auth_method": "client_secret_basic"},
            "mcpServers.remote.oauth.token_endpoint_auth_method: expected client_secret to go with "
            "client_secret_basic, got 'client_secret_basic'",
        ),
        (
            {"client_id": "cli", "client_secret": SECRET, "token_endpoint_auth_method": "private_key_jwt"},
            "mcpServers.remote.oauth.token_endpoint_auth_method: expected 'client_secret_basic', "
            "'client_secret_post' or 'none', got 'private_key_jwt'",
        ),
        (
            {"client_metadata_url": "http://agent.example.com/client.json"},
            "mcpServers.remote.oauth.client_metadata_url: expected an https:// URL with a path "
            "(a client ID metadata document), got 'http://agent.example.com/client.json'",
        ),
        (
            {"client_metadata_url": "https://agent.example.com/"},
            "mcpServers.remote.oauth.client_metadata_url: expected an https:// URL with a path "
            "(a client ID metadata document), got 'https://agent.example.com/'",
        ),
        (
            {"callback_port": 70000},
            "mcpServers.remote.oauth.callback_port: expected a number at most 65535, got 70000",
        ),
        (
            {"scopes": ["read"]},
            "mcpServers.remote.oauth.scopes: unknown field; expected one of: callback_port, client_id, "
            "client_metadata_url, client_secret, enabled, token_endpoint_auth_method",
        ),
    ],
)
def test_a_bad_oauth_block_is_one_line_naming_the_field_and_never_the_secret(
    tmp_path: Path, oauth: Any, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, {"oauth": oauth})
    assert str(caught.value) == f"{tmp_path / 'mcp.json'}: {message}"
    assert SECRET not in str(caught.value)
