"""Run a Python program in this process and record its own peak RSS (children not counted).

``python benchmarks/rss.py OUT_FILE -m agent run ...`` or ``python benchmarks/rss.py OUT_FILE
path/to/script.py ...``: the program runs as ``__main__``; when it exits, this process's
``ru_maxrss`` (RUSAGE_SELF, so the MCP server child is left out) is written to OUT_FILE in KiB.
Both clients are measured through this same wrapper.
"""

from __future__ import annotations

import resource
import runpy
import sys


def main() -> None:
    out, target, *rest = sys.argv[1:]
    code: object = 0
    try:
        if target == "-m":
            module, *args = rest
            sys.argv = [module, *args]
            runpy.run_module(module, run_name="__main__", alter_sys=True)
        else:
            sys.argv = [target, *rest]
            runpy.run_path(target, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
    with open(out, "w") as file:
        file.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
