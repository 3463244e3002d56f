"""Help and shell completion: every command answers ``-h`` with an example; bash, zsh and fish complete.

The walk covers every command registered on the app, so a command added later is held to the same
rule: ``-h`` and ``--help`` work, and its help ends with lines to copy (``Example:``/``Examples:``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from agent.cli.app import app
from tests.integration.cli_helpers import AGENT, agent_env, run_agent_cli


def command_paths() -> list[tuple[str, ...]]:
    """Every command and group of the app, as the words that name it (the root is ``()``)."""
    paths: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:  # typer's own (vendored) click command
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if not sub.hidden:
                walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


PATHS = command_paths()


def test_the_walk_finds_the_commands_and_their_sub_commands() -> None:
    for expected in [("run",), ("probe",), ("sessions",), ("sessions", "rm"), ("trust",), ("completion",)]:
        assert expected in PATHS


@pytest.mark.parametrize("path", PATHS, ids=[" ".join(p) or "agent" for p in PATHS])
def test_every_command_answers_dash_h_and_its_help_has_an_example(
    path: tuple[str, ...], tmp_path: Path
) -> None:
    env = agent_env(None, tmp_path, COLUMNS="100")
    short = run_agent_cli(*path, "-h", env=env, cwd=tmp_path)
    long = run_agent_cli(*path, "--help", env=env, cwd=tmp_path)
    assert (short.code, long.code) == (0, 0), short.stderr
    assert short.stdout == long.stdout
    assert f"Usage: agent {' '.join(path)}".rstrip() in short.stdout
    assert "Example" in short.stdout, f"`agent {' '.join(path)} -h` shows no example"
    examples = short.stdout.split("Example", 1)[1]
    assert f"agent {' '.join(path)}".rstrip() in examples


def test_the_command_line_module_loads_nothing_heavy_so_help_is_fast() -> None:
    code = (
        "import sys, agent.cli.app; heavy = ('rich.console', 'httpx', 'mcp', 'agent.core.agent', 'anyio');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout == "[]\n"


def completion_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = agent_env(None, tmp_path, **extra)
    env["PATH"] = f"{Path(AGENT).parent}{os.pathsep}{env['PATH']}"
    return env


def test_agent_completion_prints_the_script_for_each_shell(tmp_path: Path) -> None:
    env = completion_env(tmp_path)
    scripts = {
        shell: run_agent_cli("completion", shell, env=env, cwd=tmp_path) for shell in ("bash", "zsh", "fish")
    }
    assert {shell: done.code for shell, done in scripts.items()} == {"bash": 0, "zsh": 0, "fish": 0}
    assert "complete -o default -F _agent_completion agent" in scripts["bash"].stdout
    assert "compdef _agent_completion agent" in scripts["zsh"].stdout
    assert "complete --command agent" in scripts["fish"].stdout
    wrong = run_agent_cli("completion", "tcsh", env=env, cwd=tmp_path)
    assert (wrong.code, wrong.stderr) == (
        2,
        "error: agent completion: expected one of bash, zsh, fish, powershell, pwsh, got 'tcsh'\n",
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_command_names_and_sub_commands_through_the_script(tmp_path: Path) -> None:
    script = (
        "source <(agent completion bash)\n"
        "complete() { COMP_WORDS=($1); COMP_CWORD=$2; COMPREPLY=(); _agent_completion agent; "
        'printf "%s\\n" "${COMPREPLY[@]}" | sort | tr "\\n" " "; echo; }\n'
        'complete "agent ru" 1\n'
        'complete "agent sessions " 2\n'
        'complete "agent run --max-tu" 2\n'
    )
    done = subprocess.run(
        ["bash", "-c", script],
        env=completion_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["run ", "export list rm show ", "--max-turns "]


def test_the_completion_protocol_answers_through_the_environment(tmp_path: Path) -> None:
    env = completion_env(tmp_path, _AGENT_COMPLETE="complete_bash", COMP_WORDS="agent pro", COMP_CWORD="1")
    done = subprocess.run([AGENT], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert (done.returncode, sorted(done.stdout.split())) == (0, ["probe", "prompts"])


def test_install_completion_writes_the_script_for_bash(tmp_path: Path) -> None:
    # (Typer's switch to name the shell instead of detecting it from the parent process.)
    env = completion_env(tmp_path, _TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION="1")
    done = subprocess.run(
        [AGENT, "--install-completion", "bash"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "bash completion installed in" in done.stdout
    assert "_agent_completion" in (tmp_path / ".bash_completions" / "agent.sh").read_text()
    assert "agent.sh" in (tmp_path / ".bashrc").read_text()
