"""``agent completion SHELL``: the shell completion script, printed to load or to save.

The script is typer's (the same one ``agent --install-completion`` writes into the shell's
start-up files): on Tab the shell runs ``agent`` with ``_AGENT_COMPLETE=complete_SHELL`` and the
words typed so far, and ``agent`` answers with the commands, options or values that fit.
"""

from __future__ import annotations

import sys

from agent.cli.exit_codes import EXIT_OK, EXIT_USAGE

__all__ = ["COMPLETE_VAR", "SHELLS", "script"]

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
COMPLETE_VAR = "_AGENT_COMPLETE"


def script(shell: str) -> int:
    """Print the completion script for ``shell``; exit code 2 for a shell it does not know."""
    from typer._completion_shared import get_completion_script

    if shell not in SHELLS:
        sys.stderr.write(f"error: agent completion: expected one of {', '.join(SHELLS)}, got {shell!r}\n")
        return EXIT_USAGE
    sys.stdout.write(get_completion_script(prog_name="agent", complete_var=COMPLETE_VAR, shell=shell) + "\n")
    return EXIT_OK
