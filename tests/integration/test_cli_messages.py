"""The one-line messages a newcomer meets, through the real ``agent`` command.

Nothing here leaves the machine: the endpoint is a loopback server, a port nothing listens on,
or a ``.invalid`` host whose name lookup a ``sitecustomize`` in the child process fails without
asking any resolver.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config.paths import bundled_config_dir
from tests.integration.cli_helpers import AGENT, TEST_KEY, Completed, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, catalog_model, error, error_chunk, reply

CHECK = (
    "check the endpoint URL (OPENROUTER_BASE_URL or api_endpoint in the provider file) "
    "and your network and proxy settings"
)
BUNDLED_OPENROUTER = bundled_config_dir() / "providers" / "openrouter.yaml"
DEFAULT_MODEL = "~anthropic/claude-sonnet-latest"
OFFLINE_RESOLVER = '''
import socket

_lookup = socket.getaddrinfo


def _offline(host, *args, **kwargs):
    """Loopback resolves; any other name fails here, before a resolver is asked."""
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in ("127.0.0.1", "::1", "localhost"):
        return _lookup(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


socket.getaddrinfo = _offline
'''


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: a connection to it is refused."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        port: int = bound.getsockname()[1]
        yield port


def run(base_url: str | None, home: Path, *args: str, stdin: str | None = None, **env: str) -> Completed:
    done = run_agent_cli("run", *args, env=agent_env(base_url, home, **env), cwd=home, stdin=stdin)
    done.assert_no_key()
    return done


def test_a_refused_connection_says_the_endpoint_cannot_be_reached_and_what_to_check(
    home: Path, closed_port: int
) -> None:
    done = run(f"http://127.0.0.1:{closed_port}/api/v1", home, "hi", "--retries", "0")
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr == (
        f"error: cannot reach the endpoint 127.0.0.1:{closed_port} (connection refused); {CHECK}\n"
    )


def test_a_refused_connection_after_retries_still_blames_the_endpoint_not_the_model(
    home: Path, closed_port: int
) -> None:
    done = run(f"http://127.0.0.1:{closed_port}/api/v1", home, "hi", "--json", "--retries", "1")
    assert done.code == 1
    assert done.json()["error"] == {
        "type": "ProviderConnectionError",
        "message": f"cannot reach the endpoint 127.0.0.1:{closed_port} (connection refused); {CHECK}",
    }
    assert "temporarily unavailable" not in done.stderr
    assert "--fallback" not in done.stderr


def test_a_host_name_that_does_not_resolve_says_the_endpoint_cannot_be_reached(home: Path) -> None:
    site = home / "offline-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(OFFLINE_RESOLVER)
    done = run("https://api.example.invalid/api/v1", home, "hi", "--retries", "0", PYTHONPATH=str(site))
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr == (
        "error: cannot reach the endpoint api.example.invalid "
        f"(host name lookup failed: Name or service not known); {CHECK}\n"
    )


def test_a_missing_openrouter_key_says_where_to_create_one_and_how_to_set_it(home: Path) -> None:
    with ScriptedOpenRouter() as server:
        done = run(server.base_url, home, "hi", OPENROUTER_API_KEY="")
        env = agent_env(server.base_url, home)
        del env["OPENROUTER_API_KEY"]
        unset = run_agent_cli("run", "hi", env=env, cwd=home)
    assert (unset.code, unset.stdout) == (2, "")
    assert unset.stderr == (
        "error: no API key: set OPENROUTER_API_KEY (create a key at https://openrouter.ai/settings/keys), "
        f"or api_key in {BUNDLED_OPENROUTER}\n"
    )
    assert (done.code, done.stderr) == (
        2,
        "error: no API key: OPENROUTER_API_KEY is empty; set it (create a key at "
        f"https://openrouter.ai/settings/keys), or api_key in {BUNDLED_OPENROUTER}\n",
    )
    assert server.requests == []


def test_a_missing_key_of_another_provider_names_its_file_and_field(home: Path) -> None:
    providers = home / "agent-config" / "providers"
    providers.mkdir(parents=True)
    (providers / "local.yaml").write_text(
        textwrap.dedent(
            """\
            interface_type: openai_compatible
            provider_name: local
            config:
              api_key: ${LOCAL_LLM_KEY}
              api_endpoint: http://127.0.0.1:9/v1
              default_model: m
            """
        )
    )
    done = run(None, home, "hi", "-p", "local")
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr == (
        "error: agent-config/providers/local.yaml: config.api_key: no API key: "
        "environment variable LOCAL_LLM_KEY is not set\n"
    )


def test_the_upstream_providers_own_message_is_part_of_the_one_error_line(home: Path) -> None:
    raw = json.dumps(
        {
            "error": {
                "message": f"Unsupported value: 'none' for tool_choice.\nKey: {TEST_KEY}",
                "type": "invalid_request_error",
            }
        }
    )
    rejected = error(400, "Provider returned error", metadata={"raw": raw, "provider_name": "OpenAI"})
    with ScriptedOpenRouter(rejected, rejected) as server:
        done = run(server.base_url, home, "hi")
        scripted = run(server.base_url, home, "hi", "--json")
    line = (
        "the request was rejected (400): Provider returned error; "
        "OpenAI said: \"Unsupported value: 'none' for tool_choice. Key: [redacted]\""
    )
    assert (done.code, done.stdout, done.stderr) == (1, "", f"error: {line}\n")
    assert scripted.json()["error"] == {"type": "BadRequestError", "message": line}


@pytest.mark.parametrize("prompt", ["", "   \n\t"], ids=["empty", "whitespace"])
def test_an_empty_prompt_is_a_usage_error_in_one_line(home: Path, prompt: str) -> None:
    with ScriptedOpenRouter() as server:
        done = run(server.base_url, home, prompt)
    assert (done.code, done.stdout) == (2, "")
    assert (
        done.stderr == "error: the prompt is empty; give the task as PROMPT, or '-' to read it from stdin\n"
    )
    assert server.requests == []


def test_an_empty_prompt_on_stdin_is_a_usage_error_in_one_line(home: Path) -> None:
    done = run(None, home, "-", stdin="  \n")
    assert (done.code, done.stdout, done.stderr) == (
        2,
        "",
        "error: PROMPT '-': the prompt read from stdin is empty\n",
    )


def test_a_piped_answer_never_keeps_a_partial_answer_discarded_by_a_retry(home: Path) -> None:
    with ScriptedOpenRouter(
        error_chunk(reply("I will now say someth"), code=502, message="Upstream went away"),
        reply("Whole answer"),
    ) as server:
        done = run(server.base_url, home, "hi", "--stream", "--retries", "1")
    assert (done.code, done.stdout) == (0, "Whole answer\n")
    assert re.fullmatch(
        rf"warning: {DEFAULT_MODEL}: the provider is unavailable \(502\): Upstream went away "
        r"— retrying in \d+\.\d s \(attempt 2\); the partial answer so far is discarded \(not printed\)\n",
        done.stderr,
    ), done.stderr
    server.assert_clean()


def test_at_a_terminal_the_answer_streams_and_a_discarded_part_is_marked(home: Path) -> None:
    with ScriptedOpenRouter(
        error_chunk(reply("I will now say someth"), code=502, message="Upstream went away"),
        reply("Whole answer"),
    ) as server:
        code, terminal, stderr = run_at_terminal(  # plain: the styled answer is in test_cli_terminal.py
            ["--plain", "run", "hi", "--stream", "--retries", "1"], agent_env(server.base_url, home), home
        )
    assert code == 0, stderr
    assert terminal == "I will now say someth\n[partial answer discarded: retrying]\nWhole answer\n"
    assert "; the partial answer above is discarded\n" in stderr


def test_an_answer_by_a_fallback_model_is_named_on_stderr(home: Path) -> None:
    down = error(503, "No instances available", retry_after=0)
    with ScriptedOpenRouter(
        models={"primary/model": [down], "backup/model": [reply("backup here")]}
    ) as server:
        done = run(
            server.base_url, home, "hi", "-m", "primary/model", "--fallback", "backup/model", "--retries", "0"
        )
    assert (done.code, done.stdout) == (0, "backup here\n")
    assert done.stderr == "note: answered by backup/model (primary/model was unavailable)\n"


def test_an_answer_by_the_last_of_a_long_fallback_chain_names_every_model_that_failed(home: Path) -> None:
    down = error(503, "No instances available", retry_after=0)
    with ScriptedOpenRouter(
        models={"m/1": [down], "m/2": [down], "m/3": [down], "m/4": [reply("fourth answers")]}
    ) as server:
        done = run(
            server.base_url,
            home,
            "hi",
            "-m",
            "m/1",
            *("--fallback", "m/2", "--fallback", "m/3", "--fallback", "m/4"),
            "--retries",
            "0",
        )
    assert (done.code, done.stdout) == (0, "fourth answers\n")
    assert done.stderr.splitlines()[-1] == "note: answered by m/4 (m/1, m/2, m/3 were unavailable)"


def test_a_reserve_larger_than_a_small_models_window_is_scaled_down_not_fatal(home: Path) -> None:
    with ScriptedOpenRouter(
        reply("ok"), catalog=[catalog_model("small/model", context_length=1024)]
    ) as server:
        done = run(server.base_url, home, "hi", "-m", "small/model")
    assert (done.code, done.stdout) == (0, "ok\n"), done.stderr


def run_at_terminal(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60
) -> tuple[int, str, str]:
    """Run ``agent ARGS`` with stdout on a pseudo-terminal; returns the code, the terminal text, stderr."""
    main, child = pty.openpty()
    try:
        proc = subprocess.Popen(
            [AGENT, *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=child, stderr=subprocess.PIPE
        )
    finally:
        os.close(child)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                data = os.read(main, 4096)
            except OSError:  # EIO: the child side closed
                break
            if not data:
                break
            received += data
        stderr = proc.stderr.read().decode() if proc.stderr is not None else ""
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
        if proc.stderr is not None:
            proc.stderr.close()
    return code, received.decode().replace("\r\n", "\n"), stderr
