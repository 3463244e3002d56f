"""The ``--approve-with`` hook sees the call, not our secrets, and no shell reads its command line.

A hook is a program of the user's, but it need not be trusted with the API key: it gets the
minimal environment stdio MCP servers get, and its command line is split, never run by a shell.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agent.mcp.stdio import INHERITED_ENV
from tests.integration.cli_helpers import TEST_KEY, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, last_tool_result, reply

POLICY_SERVER = str(Path(__file__).parents[1] / "fixtures" / "mcp_policy_server.py")
SECRETS = {
    "AWS_SECRET_ACCESS_KEY": "aws-secret-value-123",
    "GITHUB_TOKEN": "ghp_secret_value_456",
    "ANTHROPIC_API_KEY": "sk-ant-secret-value-789",
}


def setup(tmp_path: Path, hook_body: str) -> tuple[Path, Path]:
    """An MCP config with the policy fixture, and an executable hook script."""
    config = tmp_path / "mcp.json"
    config.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "fx": {"command": sys.executable, "args": [POLICY_SERVER, str(tmp_path / "ran.log")]}
                }
            }
        )
    )
    script = tmp_path / "hook.py"
    script.write_text(f"#!{sys.executable}\nimport json, os, sys\n{hook_body}\n")
    script.chmod(0o755)
    return config, script


def test_the_approval_hook_gets_no_api_key_or_other_secrets(tmp_path: Path) -> None:
    seen = tmp_path / "hook-env.json"
    config, script = setup(tmp_path, f"json.dump(dict(os.environ), open({str(seen)!r}, 'w'))\nprint('allow')")
    with ScriptedOpenRouter(
        reply(None, call("drop_note", {"text": "x"})), lambda r: reply(last_tool_result(r))
    ) as server:
        env = agent_env(server.base_url, tmp_path, **SECRETS)
        done = run_agent_cli(
            "run",
            "go",
            "--mcp-config",
            str(config),
            "--approve-with",
            str(script),
            "--json",
            env=env,
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    assert done.json()["output"] == "ran drop_note x"  # the hook was asked, and allowed it
    hook_env = json.loads(seen.read_text())
    assert set(hook_env) <= set(INHERITED_ENV) | {"PWD", "LC_CTYPE", "SHLVL", "_"}, sorted(hook_env)
    everything = json.dumps(hook_env)
    for secret in [TEST_KEY, *SECRETS.values(), env["OPENROUTER_BASE_URL"]]:
        assert secret not in everything
    done.assert_no_key()


def test_the_hook_command_line_is_split_not_run_by_a_shell(tmp_path: Path) -> None:
    argv_file = tmp_path / "argv.json"
    config, script = setup(
        tmp_path, f"json.dump(sys.argv[1:], open({str(argv_file)!r}, 'w'))\nprint('allow')"
    )
    command = f"{script} ';' 'touch {tmp_path}/pwned' $(touch {tmp_path}/pwned2) `id` $HOME"
    with ScriptedOpenRouter(reply(None, call("drop_note", {"text": "x"})), reply("ok")) as server:
        done = run_agent_cli(
            "run",
            "go",
            "--mcp-config",
            str(config),
            "--approve-with",
            command,
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    assert json.loads(argv_file.read_text()) == [
        ";",
        f"touch {tmp_path}/pwned",
        "$(touch",
        f"{tmp_path}/pwned2)",
        "`id`",
        "$HOME",
    ]
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_a_tool_a_server_calls_read_only_is_still_refused_by_a_deny_rule(tmp_path: Path) -> None:
    # Annotations are the server's claims: they may add questions, never lift a rule.
    config, _ = setup(tmp_path, "print('allow')")
    with ScriptedOpenRouter(reply(None, call("look")), lambda r: reply(last_tool_result(r))) as server:
        done = run_agent_cli(
            "run",
            "go",
            "--mcp-config",
            str(config),
            "--deny",
            "fx.*",
            "--approval",
            "off",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
    assert done.code == 0, done.stderr
    assert (
        done.json()["output"]
        == "Not run: tool 'look' is denied by policy: --deny fx.* matches it. Do without it."
    )
    assert not (tmp_path / "ran.log").exists()
