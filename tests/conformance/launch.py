"""What the conformance suite runs per scenario: hands it to the :mod:`tests.conformance.zygote`.

``python -S launch.py SOCKET ARGS...`` hands its arguments, environment, directory and standard
streams to the zygote listening on ``SOCKET`` (see :mod:`tests.forking`) and exits with the
status of the client it forks.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.forking import hand_over

if __name__ == "__main__":
    status = hand_over(sys.argv[1], sys.argv[2:])
    if status is None:
        sys.exit(f"no conformance client zygote listens on {sys.argv[1]}")
    sys.exit(status)
