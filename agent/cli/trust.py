"""``agent trust``, and the question asked before a command uses an untrusted directory's files."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from agent.cli.common import run_sync, warn
from agent.config.trust import (
    ProjectTrust,
    check_project,
    forget_directory,
    trust_directory,
    trusted_directories,
)

__all__ = ["TrustArgs", "execute", "settle_project_trust"]


def settle_project_trust(*, interactive: bool) -> ProjectTrust:
    """Before a command reads config: ask about an untrusted working directory, or say what is ignored.

    At a terminal (``interactive``, and stdin and stderr are terminals) the user is asked once;
    a yes records the trust. Otherwise one warning line names the ignored files and the command
    goes on without them.
    """
    cwd = Path.cwd()
    state = check_project(cwd, os.environ)
    if state.trusted:
        return state
    if interactive and sys.stdin.isatty() and sys.stderr.isatty() and _ask(state):
        return trust_directory(cwd, os.environ)
    warn(state.describe())
    return state


def _ask(state: ProjectTrust) -> bool:
    what = "changed since you trusted it" if state.status == "changed" else "is not trusted yet"
    sys.stderr.write(
        f"The project configuration in {state.directory} {what}:\n"
        f"  {', '.join(state.changed if state.status == 'changed' else state.files)}\n"
        "It can start commands (MCP servers) and decide where your API key is sent.\n"
        "Trust this directory? [y/N] "
    )
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        answer = ""
    if not answer.endswith("\n"):
        sys.stderr.write("\n")
    return answer.strip().lower() in ("y", "yes")


@dataclass
class TrustArgs:
    """What ``agent trust`` was asked to do."""

    directory: Path | None = None
    list_only: bool = False
    forget: bool = False


def execute(args: TrustArgs) -> int:
    """Trust, forget or list directories; print what was done."""
    return run_sync(lambda: _main(args))


def _main(args: TrustArgs) -> int:
    if args.list_only:
        entries = trusted_directories(os.environ)
        for trusted, files in entries.items():
            sys.stdout.write(f"{trusted}  ({', '.join(files)})\n")
        if not entries:
            sys.stderr.write("no trusted directories\n")
        return 0
    directory = (args.directory or Path.cwd()).absolute()
    if args.forget:
        removed = forget_directory(directory, os.environ)
        sys.stdout.write(f"{'no longer trusted' if removed else 'was not trusted'}: {directory.resolve()}\n")
        return 0
    state = trust_directory(directory, os.environ)
    if state.status == "none":
        sys.stdout.write(f"nothing to trust in {state.directory}: no .env and no config/ files agent reads\n")
    else:
        sys.stdout.write(f"trusted {state.directory}: {', '.join(state.files)}\n")
    return 0
