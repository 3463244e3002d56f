"""The README's automation script and its offline test, run exactly as the README shows them.

The script is recorded once against the loopback OpenRouter (as a user records it once with a
key), then its pytest test runs in a fresh process with no key and nothing listening.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.integration.cli_helpers import TEST_KEY, agent_env
from tests.loopback import ScriptedOpenRouter, call, reply

README = Path(__file__).parents[2] / "README.md"


def readme_block(first_line: str) -> str:
    """The README's ```python block whose first line is ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL):
        if block.startswith(first_line):
            return str(block)
    raise AssertionError(f"README has no python block starting {first_line!r}")


def python_env(home: Path, base_url: str, *, key: bool) -> dict[str, str]:
    env = agent_env(base_url, home)
    if not key:
        del env["OPENROUTER_API_KEY"]
    return env


def test_the_readme_script_is_recorded_once_and_its_test_passes_offline(tmp_path: Path) -> None:
    (tmp_path / "digest.py").write_text(readme_block("# digest.py"))
    (tmp_path / "test_digest.py").write_text(readme_block("# test_digest.py"))
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("The launch is on Tuesday.\n")

    record = (
        "from pathlib import Path; from digest import digest; "
        "print(digest(Path('notes').resolve(), record=Path('digest.jsonl')))"
    )
    with ScriptedOpenRouter(
        reply(None, call("read_file", {"path": "notes.txt"})),
        reply("- The launch is on Tuesday.\n- Nothing else is planned.\n- No risks noted."),
    ) as server:
        recorded = subprocess.run(
            [sys.executable, "-c", record],
            cwd=tmp_path,
            env=python_env(tmp_path, server.base_url, key=True),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert recorded.returncode == 0, recorded.stderr
    assert "Tuesday" in recorded.stdout
    assert TEST_KEY not in (tmp_path / "digest.jsonl").read_text()

    offline = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_digest.py"],
        cwd=tmp_path,
        env=python_env(tmp_path, "http://127.0.0.1:9/api/v1", key=False),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr
    assert "1 passed" in offline.stdout
