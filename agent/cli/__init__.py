"""The command line interface: the only part of the package that prints."""

FREEZE_HEAP_AFTER_START = False
"""Whether a run freezes the heap once start-up is over: only when the process is the CLI's own
(the console entry point sets it), never when the CLI runs inside another program's process."""
