"""OAuth for HTTP MCP servers, piece by piece: redirects, the loopback listener, the token file."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client.auth import OAuthFlowError, OAuthTokenError
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthToken

from agent.config.servers import HttpServerConfig, OAuthConfig
from agent.mcp.oauth import (
    AuthorizationFailed,
    AuthorizationPrompt,
    OAuthOptions,
    current_oauth_options,
    oauth_provider,
    use_oauth_options,
)
from agent.mcp.oauth_provider import SignInProvider, sign_in_failure
from agent.mcp.oauth_redirect import LoopbackCallback, parse_redirect
from agent.mcp.oauth_store import TokenFile, token_file_path

pytestmark = pytest.mark.anyio

URL = "https://mcp.example.com/mcp"


# -- the redirect back: parsed from the listener's request or from what the user pasted --------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "http://127.0.0.1:8123/callback?code=abc&state=xyz",
            AuthorizationCodeResult(code="abc", state="xyz"),
        ),
        (
            "  http://127.0.0.1:8123/callback?code=abc&state=xyz&iss=https%3A%2F%2Fauth.example.com \n",
            AuthorizationCodeResult(code="abc", state="xyz", iss="https://auth.example.com"),
        ),
        ("?code=abc&state=xyz", AuthorizationCodeResult(code="abc", state="xyz")),
        (
            "code=abc&iss=https://auth.example.com",
            AuthorizationCodeResult(code="abc", iss="https://auth.example.com"),
        ),
        ("code=abc", AuthorizationCodeResult(code="abc")),
    ],
)
def test_a_redirect_gives_its_code_state_and_issuer_whether_a_url_or_just_its_query(
    text: str, expected: AuthorizationCodeResult
) -> None:
    assert parse_redirect(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("?error=access_denied&state=xyz", "the authorization server refused: access_denied"),
        (
            "http://127.0.0.1:1/callback?error=invalid_scope&error_description=no%0Asuch+scope",
            "the authorization server refused: invalid_scope: no such scope",
        ),
    ],
)
def test_an_error_sent_back_fails_the_sign_in_in_one_line(text: str, message: str) -> None:
    with pytest.raises(AuthorizationFailed) as caught:
        parse_redirect(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["", "https://example.com/", "state=only", "not a url at all"])
def test_text_without_a_code_is_not_a_redirect(text: str) -> None:
    with pytest.raises(ValueError, match="not an authorization redirect"):
        parse_redirect(text)


def test_a_pasted_address_that_is_not_a_redirect_leaves_the_sign_in_pending() -> None:
    prompt = AuthorizationPrompt("notes", "https://auth.example.com/authorize", "http://127.0.0.1:1/callback")
    with pytest.raises(ValueError, match="not an authorization redirect"):
        prompt.submit("https://auth.example.com/login")
    assert not prompt.done
    prompt.submit("http://127.0.0.1:1/callback?code=c&state=s")
    assert prompt.done


# -- the loopback listener ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _prompt(callback: LoopbackCallback) -> AuthorizationPrompt:
    return AuthorizationPrompt("notes", "https://auth.example.com/authorize?x=1", callback.redirect_uri)


async def _sign_in_with_browser(
    callback: LoopbackCallback, paths: list[str]
) -> tuple[Any, list[tuple[int, str]]]:
    """Wait on ``callback`` while a browser (its own task, never cancelled) requests ``paths``."""
    pages: list[tuple[int, str]] = []
    listening = anyio.Event()

    async def shown(prompt: AuthorizationPrompt) -> None:
        listening.set()

    async def browser() -> None:
        await listening.wait()
        async with httpx2.AsyncClient() as client:
            for path in paths:
                response = await client.get(f"http://127.0.0.1:{callback.port}{path}")
                pages.append((response.status_code, response.text))

    outcome: Any = None
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(browser)
            try:
                outcome = await callback.wait(_prompt(callback), shown, seconds=5)
            except AuthorizationFailed as exc:
                outcome = exc
    return outcome, pages


async def test_the_listener_takes_the_browser_back_and_ignores_other_requests() -> None:
    callback = LoopbackCallback(_free_port())
    paths = ["/favicon.ico", "/callback", "/callback?code=c0de&state=s7&iss=https://a.example"]
    result, pages = await _sign_in_with_browser(callback, paths)
    assert result == AuthorizationCodeResult(code="c0de", state="s7", iss="https://a.example")
    assert [status for status, _ in pages] == [404, 400, 200]
    assert "Signed in" in pages[-1][1]


async def test_a_pasted_address_completes_the_sign_in_while_the_listener_waits() -> None:
    callback = LoopbackCallback(_free_port())

    async def user(prompt: AuthorizationPrompt) -> None:
        prompt.submit(f"{prompt.redirect_uri}?code=pasted&state=s")

    with anyio.fail_after(5):
        result = await callback.wait(_prompt(callback), user, seconds=5)
    assert result == AuthorizationCodeResult(code="pasted", state="s")


async def test_a_refusal_coming_back_fails_the_sign_in_and_tells_the_browser() -> None:
    callback = LoopbackCallback(_free_port())
    failure, pages = await _sign_in_with_browser(callback, ["/callback?error=access_denied"])
    assert isinstance(failure, AuthorizationFailed)
    assert str(failure) == "the authorization server refused: access_denied"
    [(status, page)] = pages
    assert status == 200 and "Sign-in failed: the authorization server refused: access_denied" in page


async def test_a_failing_prompt_handler_ends_the_sign_in_with_its_reason() -> None:
    callback = LoopbackCallback(_free_port())

    async def broken(prompt: AuthorizationPrompt) -> None:
        raise RuntimeError("no terminal\nattached")

    with anyio.fail_after(5), pytest.raises(AuthorizationFailed) as caught:
        await callback.wait(_prompt(callback), broken, seconds=5)
    assert str(caught.value) == "showing the sign-in failed: RuntimeError: no terminal attached"


async def test_a_sign_in_that_never_comes_back_gives_up_after_the_time_allowed() -> None:
    callback = LoopbackCallback(_free_port())

    async def absent(prompt: AuthorizationPrompt) -> None:
        return None

    with anyio.fail_after(5), pytest.raises(AuthorizationFailed) as caught:
        await callback.wait(_prompt(callback), absent, seconds=0.05)
    assert str(caught.value) == "no sign-in came back within 0.05 s"


async def test_a_callback_port_in_use_is_one_line_saying_how_to_fix_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        callback = LoopbackCallback(port)
        with pytest.raises(AuthorizationFailed) as caught:
            await callback.wait(_prompt(callback), _never_called, seconds=5)
    assert str(caught.value) == (
        f"cannot listen on 127.0.0.1:{port} for the sign-in redirect (Address already in use); "
        "free the port or set oauth.callback_port"
    )


async def _never_called(prompt: AuthorizationPrompt) -> None:
    raise AssertionError("the prompt was shown")


# -- the token file ------------------------------------------------------------------------------

DYNAMIC = OAuthClientInformationFull(
    client_id="dyn-1",
    redirect_uris=["http://127.0.0.1:4321/callback"],  # type: ignore[list-item]
    token_endpoint_auth_method="none",
)
TOKENS = OAuthToken(access_token="access-1", refresh_token="refresh-1", expires_in=3600, scope="read")


def _file_modes(path: Path) -> tuple[int, int]:
    return stat.S_IMODE(path.parent.stat().st_mode), stat.S_IMODE(path.stat().st_mode)


async def test_a_registration_and_its_tokens_are_kept_in_a_private_file_per_server(tmp_path: Path) -> None:
    path = token_file_path(tmp_path / "oauth", URL)
    store = TokenFile(path, URL)
    await store.set_client_info(DYNAMIC)
    await store.set_tokens(TOKENS)

    again = TokenFile(path, URL)
    assert await again.get_client_info() == DYNAMIC
    tokens = await again.get_tokens()
    assert tokens is not None and tokens.access_token == "access-1" and tokens.refresh_token == "refresh-1"
    assert tokens.expires_in is not None and 3590 <= tokens.expires_in <= 3600
    assert _file_modes(path) == (0o700, 0o600)
    data = json.loads(path.read_text())
    assert {key: data[key] for key in ("version", "server_url", "token_client_id")} == {
        "version": 1,
        "server_url": URL,
        "token_client_id": "dyn-1",
    }
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_the_file_is_named_by_a_hash_of_the_url_alone(tmp_path: Path) -> None:
    first, second = token_file_path(tmp_path, URL), token_file_path(tmp_path, URL + "/other")
    assert first == token_file_path(tmp_path, URL) != second
    assert "example" not in first.name and first.suffix == ".json" and first.parent == tmp_path


async def test_tokens_whose_time_has_passed_come_back_expired(tmp_path: Path) -> None:
    path = token_file_path(tmp_path, URL)
    await TokenFile(path, URL).set_client_info(DYNAMIC)
    await TokenFile(path, URL).set_tokens(TOKENS)
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "expires_at": time.time() - 10}))
    tokens = await TokenFile(path, URL).get_tokens()
    assert tokens is not None and tokens.expires_in == 0


async def test_a_pre_registered_client_wins_is_never_written_and_other_clients_tokens_are_ignored(
    tmp_path: Path,
) -> None:
    path = token_file_path(tmp_path, URL)
    await TokenFile(path, URL).set_client_info(DYNAMIC)
    await TokenFile(path, URL).set_tokens(TOKENS)
    mine = OAuthClientInformationFull(client_id="configured", client_secret="s3cret-value")
    store = TokenFile(path, URL, preregistered=mine)
    assert await store.get_client_info() == mine
    assert await store.get_tokens() is None  # issued to dyn-1
    await store.set_client_info(mine)
    await store.set_tokens(TOKENS.model_copy(update={"access_token": "access-2"}))
    assert "s3cret-value" not in path.read_text()
    tokens = await TokenFile(path, URL, preregistered=mine).get_tokens()
    assert tokens is not None and tokens.access_token == "access-2"


@pytest.mark.parametrize(
    "content", ["{not json", "[]", '{"version": 99, "tokens": {}}', '{"version": 1, "client": 7}']
)
async def test_a_broken_or_foreign_file_counts_as_nothing_stored(tmp_path: Path, content: str) -> None:
    path = token_file_path(tmp_path, URL)
    path.write_text(content)
    store = TokenFile(path, URL)
    assert (await store.get_client_info(), await store.get_tokens()) == (None, None)
    await store.set_client_info(DYNAMIC)
    assert await TokenFile(path, URL).get_client_info() == DYNAMIC


# -- the provider: built from the entry, failures in one line ------------------------------------


def test_only_failures_of_the_sign_in_are_put_in_its_words_and_secrets_are_left_out() -> None:
    failure = sign_in_failure(
        OAuthTokenError('Token exchange failed (401): {"error": "invalid_client", "echo": "pre-shared-1"}'),
        ["pre-shared-1", None],
    )
    assert str(failure) == (
        'authorization failed: Token exchange failed (401): {"error": "invalid_client", "echo": "[redacted]"}'
    )
    assert str(sign_in_failure(OAuthFlowError(""))) == "authorization failed: OAuthFlowError"
    assert sign_in_failure(httpx2.ConnectError("refused")) is None


@pytest.mark.parametrize(
    ("config", "oauth"),
    [
        (HttpServerConfig(url=URL), True),
        (HttpServerConfig(url=URL, headers={"authorization": "Bearer static"}), False),
        (HttpServerConfig(url=URL, headers={"Authorization": "Bearer static"}, oauth=OAuthConfig()), True),
        (HttpServerConfig(url=URL, oauth=OAuthConfig(enabled=False)), False),
    ],
)
async def test_oauth_is_on_unless_turned_off_or_the_entry_brings_its_own_authorization(
    tmp_path: Path, config: HttpServerConfig, oauth: bool
) -> None:
    provider = await oauth_provider(config, OAuthOptions(store_dir=tmp_path))
    assert isinstance(provider, SignInProvider) is oauth


async def test_tokens_go_to_the_user_config_directory_by_default() -> None:
    provider = await oauth_provider(HttpServerConfig(url=URL))
    assert isinstance(provider, SignInProvider)
    storage: Any = provider.context.storage
    assert storage.path == token_file_path(Path(os.environ["AGENT_CONFIG_DIR"]) / "oauth", URL)


async def test_the_callback_port_is_the_configured_one_else_the_registered_one(tmp_path: Path) -> None:
    await TokenFile(token_file_path(tmp_path, URL), URL).set_client_info(DYNAMIC)
    options = OAuthOptions(store_dir=tmp_path)
    registered = await oauth_provider(HttpServerConfig(url=URL), options)
    assert registered is not None
    assert _redirect(registered) == "http://127.0.0.1:4321/callback"
    assert await registered.context.storage.get_client_info() == DYNAMIC

    configured = await oauth_provider(
        HttpServerConfig(url=URL, oauth=OAuthConfig(callback_port=9876)), options
    )
    assert configured is not None
    assert _redirect(configured) == "http://127.0.0.1:9876/callback"
    # registered for another port: that registration cannot be used, so it is forgotten
    assert await configured.context.storage.get_client_info() is None


async def test_a_pre_registered_client_comes_from_the_entry_with_basic_auth_for_its_secret(
    tmp_path: Path,
) -> None:
    oauth = OAuthConfig(client_id="agent-cli", client_secret="pre-shared-1")  # type: ignore[arg-type]
    provider = await oauth_provider(HttpServerConfig(url=URL, oauth=oauth), OAuthOptions(store_dir=tmp_path))
    assert provider is not None
    client = await provider.context.storage.get_client_info()
    assert client == OAuthClientInformationFull(
        client_id="agent-cli", client_secret="pre-shared-1", token_endpoint_auth_method="client_secret_basic"
    )


def _redirect(provider: Any) -> str:
    return str(provider.context.client_metadata.redirect_uris[0])


async def test_options_set_around_a_block_are_the_ones_in_force_there() -> None:
    options = OAuthOptions(sign_in_seconds=5)
    assert current_oauth_options() == OAuthOptions()
    with use_oauth_options(options):
        assert current_oauth_options() is options
    assert current_oauth_options() == OAuthOptions()
