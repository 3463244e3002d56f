"""``agent init`` as a newcomer uses it: answered at a real terminal, or by flags, then ``agent query``.

The loopback OpenRouter serves ``/models`` and ``/key`` and requires the test key, so a run
after init proves the key init stored (or the variable it named) is the one sent.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.integration.cli_helpers import TEST_KEY, Typist, agent_env, at_a_terminal, run_agent_cli
from tests.loopback import ScriptedOpenRouter, catalog_model, key_info, reply

CATALOG = [
    catalog_model("anthropic/claude-sonnet-4.5", created=1_760_000_000),
    catalog_model("openai/gpt-4o-mini", created=1_720_000_000),
    catalog_model("meta-llama/llama-3.3-70b-instruct:free", prompt_price="0", completion_price="0"),
    catalog_model("plain/no-tools", supported_parameters=["max_tokens"]),
]
MASKED = "sk-or-v1-…def"
STORE = b"(readable only by you)? [y/N]: "
MODEL = b"words to filter (e.g. free, gpt) ["
SERVERS = b"a command line or a URL; Enter: none: "
ANOTHER = b"(a command line or URL; Enter: done): "
WRITE = b"Write these files? [Y/n]: "


def conversation(*steps: tuple[bytes, bytes]) -> Typist:
    """A person who answers each question in turn, once it has been asked after the last answer."""
    position = 0
    index = 0

    def typist(seen: bytes) -> bytes | None:
        nonlocal position, index
        if index < len(steps):
            question, answer = steps[index]
            found = seen.find(question, position)
            if found >= 0:
                position = found + len(question)
                index += 1
                return answer
        return None

    return typist


def newcomer_env(server: ScriptedOpenRouter, home: Path) -> dict[str, str]:
    """A newcomer's environment: no key exported."""
    env = agent_env(server.base_url, home)
    del env["OPENROUTER_API_KEY"]
    return env


def config_files(home: Path) -> dict[str, Path]:
    root = home / "agent-config"
    return (
        {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_at_a_terminal_answered_key_by_key_then_query_uses_what_it_wrote(tmp_path: Path) -> None:
    person = conversation(
        (b"or type the endpoint's URL [1]: ", b"\n"),
        (b"Choose [1]: ", b"1\n"),
        (b"Paste the key (hidden): ", TEST_KEY.encode() + b"\n"),
        (STORE, b"y\n"),
        (MODEL, b"free\n"),  # filters the list down to the free model
        (MODEL, b"1\n"),
        (SERVERS, b"1 2\n"),
        (b"Directory for files [.]: ", b"\n"),
        (ANOTHER, b"\n"),
        (WRITE, b"\n"),
    )
    with ScriptedOpenRouter(reply("4"), catalog=CATALOG, key=key_info(), api_key=TEST_KEY) as server:
        env = newcomer_env(server, tmp_path)
        code, screen, out = at_a_terminal(["init"], env, tmp_path, person)
        asked = run_agent_cli("query", "What is 2+2?", env=env, cwd=tmp_path)

    assert code == 0, screen
    assert TEST_KEY not in screen and TEST_KEY not in out
    assert f"got {MASKED}" in screen
    assert "credits used  $1.25" in screen  # the key was checked, its credits shown as `agent key` does
    assert "1  meta-llama/llama-3.3-70b-instruct:free  tools  free" in screen
    assert "~anthropic/claude-sonnet-latest" in screen and "default" in screen
    assert "plain/no-tools" not in screen.split(MODEL.decode())[0]  # the first list: models with tools
    assert f"OPENROUTER_API_KEY={MASKED}" in screen and f"OPENROUTER_API_KEY={MASKED}" in out

    files = config_files(tmp_path)
    assert sorted(files) == ["mcp.json", "providers/openrouter.yaml", "secrets.env"]
    assert mode(files["secrets.env"]) == 0o600
    assert files["secrets.env"].read_text().splitlines()[-1] == f"OPENROUTER_API_KEY={TEST_KEY}"
    provider = files["providers/openrouter.yaml"].read_text()
    assert "default_model: meta-llama/llama-3.3-70b-instruct:free" in provider
    assert "api_key: ${OPENROUTER_API_KEY}" in provider and TEST_KEY not in provider
    assert json.loads(files["mcp.json"].read_text()) == {
        "mcpServers": {
            "files": {"command": "${AGENT_PYTHON}", "args": ["-P", "-m", "servers.fs", "."]},
            "calculator": {"command": "${AGENT_PYTHON}", "args": ["-P", "-m", "servers.calc"]},
        }
    }
    for name in ("providers/openrouter.yaml", "mcp.json", "secrets.env"):
        assert str(files[name]) in out

    # The newcomer path: the stored key, the chosen model and the servers, with nothing exported.
    assert (asked.code, asked.stdout, asked.stderr) == (0, "4\n", "")
    [body] = server.chat_bodies
    assert body["model"] == "meta-llama/llama-3.3-70b-instruct:free"
    tools = {tool["function"]["name"] for tool in body["tools"]}
    assert {"read_file", "evaluate"} <= tools
    server.assert_clean()


def test_init_by_flags_names_the_variable_and_writes_no_secret(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("ok"), catalog=CATALOG, key=key_info(), api_key=TEST_KEY) as server:
        env = newcomer_env(server, tmp_path) | {"MY_OPENROUTER_KEY": TEST_KEY}
        done = run_agent_cli(
            "init",
            "--key-env",
            "MY_OPENROUTER_KEY",
            "--model",
            "openai/gpt-4o-mini",
            "--server",
            "calc",
            "--server",
            "npx -y @modelcontextprotocol/server-memory",
            "--server",
            "clock=uvx mcp-server-time",
            env=env,
            cwd=tmp_path,
        )
        ran = run_agent_cli("run", "hi", "--no-servers", env=env, cwd=tmp_path)

    assert done.code == 0, done.stderr
    done.assert_no_key()
    files = config_files(tmp_path)
    assert sorted(files) == ["mcp.json", "providers/openrouter.yaml"]
    assert "api_key: ${MY_OPENROUTER_KEY}" in files["providers/openrouter.yaml"].read_text()
    assert json.loads(files["mcp.json"].read_text())["mcpServers"] == {
        "calculator": {"command": "${AGENT_PYTHON}", "args": ["-P", "-m", "servers.calc"]},
        "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
        "clock": {"command": "uvx", "args": ["mcp-server-time"]},
    }
    assert "the key works:" in done.stderr
    assert "export" not in done.stdout  # the variable is set: nothing to add
    assert (ran.code, ran.stdout) == (0, "ok\n")
    assert server.chat_bodies[0]["model"] == "openai/gpt-4o-mini"


def test_init_key_stdin_stores_the_key_0600_and_yes_takes_the_default_model(tmp_path: Path) -> None:
    with ScriptedOpenRouter(catalog=CATALOG, key=key_info(), api_key=TEST_KEY) as server:
        done = run_agent_cli(
            "init",
            "--key-stdin",
            "--yes",
            env=newcomer_env(server, tmp_path),
            cwd=tmp_path,
            stdin=TEST_KEY + "\n",
        )
    assert done.code == 0, done.stderr
    done.assert_no_key()
    files = config_files(tmp_path)
    assert sorted(files) == ["secrets.env"]  # the bundled provider file already says the rest
    assert mode(files["secrets.env"]) == 0o600
    assert f"OPENROUTER_API_KEY={MASKED}" in done.stdout


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        ((), "give --key-env VAR or --key-stdin for the API key (or --yes for the defaults)"),
        (
            ("--key-env", "OPENROUTER_API_KEY"),
            "give --model MODEL for the default model (or --yes for the provider's)",
        ),
    ],
)
def test_init_without_a_terminal_names_the_missing_flag_and_exits_2(
    tmp_path: Path, args: tuple[str, ...], missing: str
) -> None:
    done = run_agent_cli("init", *args, env=agent_env(None, tmp_path), cwd=tmp_path)
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr == f"error: agent init: not at a terminal; {missing}\n"
    assert config_files(tmp_path) == {}


def test_a_refused_key_is_one_line_with_a_hint_exit_4_and_nothing_written(tmp_path: Path) -> None:
    with ScriptedOpenRouter(catalog=CATALOG, api_key=TEST_KEY) as server:
        base_url = server.base_url
        done = run_agent_cli(
            "init",
            "--key-stdin",
            "--model",
            "openai/gpt-4o-mini",
            env=newcomer_env(server, tmp_path),
            cwd=tmp_path,
            stdin="sk-or-v1-not-the-right-key-000000000000\n",
        )
    assert done.code == 4
    assert done.stderr.splitlines()[-1] == (
        f"error: the key information at {base_url}/key could not be fetched: the API key was refused "
        "(401): User not found. Check the key (keys are created at https://openrouter.ai/settings/keys)"
    )
    assert "not-the-right-key" not in done.stderr
    assert config_files(tmp_path) == {}


def test_at_a_terminal_a_refused_key_is_asked_again(tmp_path: Path) -> None:
    person = conversation(
        (b"or type the endpoint's URL [1]: ", b"1\n"),
        (b"Choose [1]: ", b"\n"),
        (b"Paste the key (hidden): ", b"sk-or-v1-wrong-wrong-wrong-0000000\n"),
        (b"Choose [1]: ", b"1\n"),
        (b"Paste the key (hidden): ", TEST_KEY.encode() + b"\n"),
        (STORE, b"n\n"),
        (MODEL, b"openai/gpt-4o-mini\n"),
        (SERVERS, b"\n"),
        (ANOTHER, b"\n"),
        (WRITE, b"y\n"),
    )
    with ScriptedOpenRouter(catalog=CATALOG, api_key=TEST_KEY) as server:
        code, screen, out = at_a_terminal(["init"], newcomer_env(server, tmp_path), tmp_path, person)
    assert code == 0, screen
    [refused] = [line for line in screen.splitlines() if line.startswith("error:")]
    assert "refused (401)" in refused and "https://openrouter.ai/settings/keys" in refused
    assert f"export OPENROUTER_API_KEY={MASKED}" in out
    assert sorted(config_files(tmp_path)) == ["providers/openrouter.yaml"]


def test_ctrl_c_midway_stops_with_130_and_leaves_no_files(tmp_path: Path) -> None:
    person = conversation(
        (b"or type the endpoint's URL [1]: ", b"\n"),
        (b"Choose [1]: ", b"\n"),
        (b"Paste the key (hidden): ", TEST_KEY.encode() + b"\n"),
        (STORE, b"y\n"),
        (MODEL, b"\x03"),
    )
    with ScriptedOpenRouter(catalog=CATALOG, key=key_info()) as server:
        code, screen, out = at_a_terminal(
            ["init"], newcomer_env(server, tmp_path), tmp_path, person, controlling=True
        )
    assert code == 130, screen
    assert screen.rstrip().endswith("interrupted: nothing was written")
    assert "Traceback" not in screen and out == ""
    assert config_files(tmp_path) == {}


def test_ctrl_d_at_a_question_stops_with_130_and_leaves_no_files(tmp_path: Path) -> None:
    person = conversation(
        (b"or type the endpoint's URL [1]: ", b"\n"),
        (b"Choose [1]: ", b"\n"),
        (b"Paste the key (hidden): ", TEST_KEY.encode() + b"\n"),
        (STORE, b"\x04"),
    )
    with ScriptedOpenRouter(catalog=CATALOG, key=key_info()) as server:
        code, screen, _ = at_a_terminal(["init"], newcomer_env(server, tmp_path), tmp_path, person)
    assert code == 130, screen
    assert "aborted: nothing was written" in screen
    assert config_files(tmp_path) == {}


def test_servers_merge_into_an_existing_mcp_json_and_a_clash_is_asked_about(tmp_path: Path) -> None:
    config = tmp_path / "agent-config"
    config.mkdir()
    existing = {
        "_comment": "mine",
        "mcpServers": {
            "notes": {"command": "python", "args": ["-m", "notes"]},
            "memory": {"command": "my-memory"},
        },
    }
    (config / "mcp.json").write_text(json.dumps(existing))
    flags = ["init", "--key-env", "OPENROUTER_API_KEY", "--model", "m", "--no-verify", "-s", "memory"]

    clash = run_agent_cli(*flags, env=agent_env(None, tmp_path), cwd=tmp_path)
    assert clash.code == 2
    assert clash.stderr == (
        f"error: --server: {config / 'mcp.json'} already has a server 'memory'; give --yes to replace it, "
        "or NAME=SPEC to add this one under another name\n"
    )
    assert json.loads((config / "mcp.json").read_text()) == existing

    person = conversation((b"Replace it? [y/N]: ", b"n\n"), (WRITE, b"\n"))
    code, screen, out = at_a_terminal([*flags, "-s", "time"], agent_env(None, tmp_path), tmp_path, person)
    assert code == 0, screen
    merged = json.loads((config / "mcp.json").read_text())
    assert merged["_comment"] == "mine"
    assert merged["mcpServers"] == {
        **existing["mcpServers"],
        "time": {"command": "uvx", "args": ["mcp-server-time"]},
    }
    assert "memory (kept as it was)" in out and "time (added)" in out

    replaced = run_agent_cli(*flags, "--yes", env=agent_env(None, tmp_path), cwd=tmp_path)
    assert replaced.code == 0, replaced.stderr
    servers = json.loads((config / "mcp.json").read_text())["mcpServers"]
    assert servers["memory"] == {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}
    assert set(servers) == {"notes", "memory", "time"}


def test_init_sets_up_another_openai_compatible_endpoint_used_with_p(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("local answer")) as server:
        base_url = server.base_url
        env = agent_env(None, tmp_path, LOCAL_API_KEY="anything")
        done = run_agent_cli(
            "init",
            "--endpoint",
            server.base_url,
            "-p",
            "local",
            "--key-env",
            "LOCAL_API_KEY",
            "--model",
            "qwen2.5:7b",
            "--no-verify",
            env=env,
            cwd=tmp_path,
        )
        asked = run_agent_cli("query", "hi", "-p", "local", env=env, cwd=tmp_path)
    assert done.code == 0, done.stderr
    provider = (tmp_path / "agent-config" / "providers" / "local.yaml").read_text()
    assert f"api_endpoint: {base_url}" in provider and "default_model: qwen2.5:7b" in provider
    assert "agent chat -p local" in done.stdout
    assert (asked.code, asked.stdout, asked.stderr) == (0, "local answer\n", "")
    assert server.chat_bodies[0]["model"] == "qwen2.5:7b"
