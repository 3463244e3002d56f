"""A hostile ``GET /generation`` answer under ``--verbose``: one clean, bounded line; the run unharmed.

``agent run --verbose`` looks each generation up after the run and prints what OpenRouter billed.
That body is upstream input like any other: escape sequences, enormous or wrongly typed fields,
or no stats at all must leave the answer, the exit code and the terminal as they were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, reply

HUGE = "A" * 200_000
ESCAPES = "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07\x1b[2J\x1b[31mred\r\x07\x9b31m"

HOSTILE: list[Any] = [
    {  # escapes and a huge name, wrongly typed numbers
        "data": {
            "id": "gen-loopback-1",
            "provider_name": ESCAPES + HUGE,
            "model": "acme/model\n\nerror: fake line",
            "total_cost": "1e308",
            "latency": -5,
            "generation_time": "soon",
            "tokens_prompt": {"nested": [1, 2]},
            "tokens_completion": 1e300,
            "native_tokens_reasoning": None,
            "finish_reason": ESCAPES,
        }
    },
    {"data": None},
    {"data": ["not", "an", "object"]},
    ["not", "an", "object"],
    {"data": {"id": "gen-loopback-1"}},
]


@pytest.mark.parametrize("body", HOSTILE, ids=["escapes-huge-types", "null", "list-data", "list", "no-stats"])
def test_a_hostile_generation_answer_is_one_clean_bounded_line(tmp_path: Path, body: Any) -> None:
    with ScriptedOpenRouter(reply("the answer")) as server:

        def hostile(query: Mapping[str, Sequence[str]]) -> tuple[int, Any]:
            return 200, body

        server.generations.answer = hostile  # type: ignore[method-assign]
        done = run_agent_cli(
            "run", "hi", "--no-servers", "--verbose", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert done.code == 0, done.stderr
    assert done.stdout.strip() == "the answer"
    lines = [line for line in done.stderr.splitlines() if line.startswith("generation ")]
    assert len(lines) == 1, done.stderr
    assert all(len(line) < 2_000 for line in done.stderr.splitlines())
    for control in ("\x1b", "\x07", "\x9b", "\r"):
        assert control not in done.stderr
    assert "Traceback" not in done.stderr
    assert "\nerror: fake line" not in done.stderr
    done.assert_no_key()
