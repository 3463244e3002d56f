"""Faults a user meets with OpenRouter, through the real CLI: each ends completed or in one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import Completed, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, drop, error, error_chunk, last_tool_result, reply


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def run(server: ScriptedOpenRouter, home: Path, *args: str) -> Completed:
    done = run_agent_cli("run", *args, env=agent_env(server.base_url, home), cwd=home)
    done.assert_no_key()
    return done


def test_a_429_with_retry_after_is_retried_and_the_run_completes(home: Path) -> None:
    with ScriptedOpenRouter(error(429, "Rate limit exceeded", retry_after=0), reply("fine now")) as server:
        done = run(server, home, "hi", "--json")
    assert done.code == 0, done.stderr
    assert done.json()["output"] == "fine now"
    assert "retrying in 0.0 s (attempt 2)" in done.stderr
    server.assert_clean()


def test_an_error_chunk_mid_stream_discards_the_partial_answer_and_retries(home: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("list_directory")),
        error_chunk(reply("I will now say someth"), code=502, message="Upstream went away"),
        lambda request: reply(f"Listing: {last_tool_result(request)}"),
    ) as server:
        (home / "data").mkdir()
        (home / "data" / "a.txt").write_text("a")
        done = run(server, home, "list", "-s", "fs:data", "--stream", "--retries", "1")
    assert done.code == 0, done.stderr
    assert done.stdout.endswith("Listing: [file] a.txt (1 bytes)\n")
    assert "the partial answer so far is discarded (not printed)" in done.stderr
    assert "I will now say someth" not in done.stdout
    third = server.chat_bodies[2]
    assert "I will now say someth" not in str(third["messages"])
    server.assert_clean()


def test_a_dropped_stream_is_retried(home: Path) -> None:
    with ScriptedOpenRouter(drop(reply("half an ans")), reply("whole answer")) as server:
        done = run(server, home, "hi", "--json", "--stream")
    assert done.code == 0, done.stderr
    assert done.json()["output"] == "whole answer"


def test_a_model_that_stays_unavailable_hands_the_turn_to_the_fallback(home: Path) -> None:
    down = error(503, "No instances available", retry_after=0)
    with ScriptedOpenRouter(
        models={"primary/model": [down, down], "backup/model": [reply("backup here")]}
    ) as server:
        done = run(
            server,
            home,
            "hi",
            "--json",
            "-m",
            "primary/model",
            "--fallback",
            "backup/model",
            "--retries",
            "1",
        )
    assert done.code == 0, done.stderr
    result = done.json()
    assert (result["output"], result["model"]) == ("backup here", "backup/model")
    assert result["models_tried"] == ["primary/model", "backup/model"]
    assert server.chat_bodies[0]["models"] == ["primary/model", "backup/model"]


def test_a_chain_longer_than_three_continues_client_side(home: Path) -> None:
    down = error(503, "No instances available", retry_after=0)
    with ScriptedOpenRouter(
        models={"m/1": [down], "m/2": [down], "m/3": [down], "m/4": [reply("fourth answers")]}
    ) as server:
        done = run(
            server,
            home,
            "hi",
            "--json",
            "-m",
            "m/1",
            *("--fallback", "m/2", "--fallback", "m/3", "--fallback", "m/4"),
            "--retries",
            "0",
        )
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["model"] == "m/4"
    assert result["models_tried"] == ["m/1", "m/2", "m/3", "m/4"]
    assert [body.get("models") for body in server.chat_bodies] == [["m/1", "m/2", "m/3"], None]
    assert "warning: m/1, m/2, m/3 are unavailable" in done.stderr


def test_unknown_model_id_says_so_and_suggests_searching_the_catalog(home: Path) -> None:
    with ScriptedOpenRouter(error(400, "nosuch/model is not a valid model ID")) as server:
        done = run(server, home, "hi", "--json", "-m", "nosuch/model")
    assert done.code == 1
    message = done.json()["error"]["message"]
    assert "nosuch/model" in message
    assert "agent models --search model" in message
    assert len(server.chat_bodies) == 1


def test_insufficient_credits_exit_4_and_mention_credits_and_free_models(home: Path) -> None:
    with ScriptedOpenRouter(error(402, "Insufficient credits")) as server:
        done = run(server, home, "hi", "--json")
    assert done.code == 4
    message = done.json()["error"]["message"]
    assert "credits" in message and ":free" in message
    assert len(server.chat_bodies) == 1


def test_a_rate_limit_that_persists_says_which_limit_and_when_to_try_again(home: Path) -> None:
    limited = error(
        429,
        "Rate limit exceeded: free-models-per-min.",
        retry_after=0,
        metadata={"headers": {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0"}},
    )
    with ScriptedOpenRouter(limited, limited) as server:
        done = run(server, home, "hi", "--json", "-m", "meta/llama:free", "--retries", "1")
    assert done.code == 1
    message = done.json()["error"]["message"]
    assert "free-models-per-min" in message
    assert "20 requests a minute" in message
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert line == f"error: {message}"


def test_a_daily_free_model_cap_is_not_waited_out(home: Path) -> None:
    daily = error(
        429, "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests"
    )
    with ScriptedOpenRouter(daily) as server:
        done = run(server, home, "hi", "--json", "-m", "meta/llama:free")
    assert done.code == 1
    assert len(server.chat_bodies) == 1
    assert "free-models-per-day" in done.json()["error"]["message"]


def test_moderation_names_the_flagged_reasons(home: Path) -> None:
    flagged = error(
        403,
        'meta/llama requires moderation on OpenRouter. Your input was flagged for "violence"',
        metadata={"reasons": ["violence"], "flagged_input": "how to...", "provider_name": "OpenAI"},
    )
    with ScriptedOpenRouter(flagged) as server:
        done = run(server, home, "hi", "--json")
    assert done.code == 1
    assert "violence" in done.json()["error"]["message"]
    assert len(server.chat_bodies) == 1


def test_upstream_details_show_with_verbose(home: Path) -> None:
    upstream = error(
        400,
        "Provider returned error",
        metadata={"raw": '{"error":{"message":"tools.0: invalid schema"}}', "provider_name": "Anthropic"},
    )
    with ScriptedOpenRouter(upstream, upstream) as server:
        quiet = run(server, home, "hi")
        verbose = run(server, home, "hi", "--verbose")
    assert (
        'said: "tools.0: invalid schema"' in quiet.stderr.splitlines()[-1]
    )  # the upstream's words, one line
    assert "  provider: Anthropic" in verbose.stderr
    assert "tools.0: invalid schema" in verbose.stderr


def test_a_context_length_error_compacts_old_tool_results_and_retries_once(home: Path) -> None:
    (home / "big.txt").write_text("x" * 20_000)

    def answer(request: dict[str, Any]) -> Any:
        tool_contents = [m["content"] for m in request["messages"] if m["role"] == "tool"]
        return reply(f"saw {len(tool_contents)} results, first is {len(tool_contents[0])} chars")

    too_long = error(
        400, "This endpoint's maximum context length is 8192 tokens. However, you requested about 9000"
    )
    with ScriptedOpenRouter(
        reply(None, call("read_file", {"path": "big.txt"})),
        reply(None, call("list_directory")),
        too_long,
        answer,
    ) as server:
        done = run(server, home, "read", "-s", "fs", "--json")
    assert done.code == 0, done.stderr
    output = done.json()["output"]
    assert output.startswith("saw 2 results, first is ")
    assert int(output.split()[-2]) < 1000
    server.assert_clean()


def test_a_model_down_with_no_fallback_left_suggests_one(home: Path) -> None:
    down = error(502, "Provider returned error", retry_after=0, metadata={"provider_name": "Fireworks"})
    with ScriptedOpenRouter(down, down) as server:
        done = run(server, home, "hi", "--json", "--retries", "1")
    assert done.code == 1
    result = done.json()
    assert result["error"]["type"] == "ProviderUnavailableError"
    assert "--fallback" in result["error"]["message"]
    assert len(server.chat_bodies) == 2
