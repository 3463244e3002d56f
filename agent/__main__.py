"""``python -m agent`` runs the command line interface."""

from agent.cli.app import main

main()
