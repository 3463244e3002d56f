"""Credits and costs through the real CLI: a 402 or 429 names what ``GET /key`` says; ``--verbose``
prints what OpenRouter billed for each generation (``GET /generation``)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_helpers import Completed, agent_env, run_agent_cli
from tests.loopback import (
    ScriptedOpenRouter,
    UsageReport,
    call,
    credits_error,
    error,
    key_info,
    last_tool_result,
    rate_limit_error,
    reply,
)

KEY_PATH = "/api/v1/key"
GENERATION_PATH = "/api/v1/generation"


def run(server: ScriptedOpenRouter, home: Path, *args: str) -> Completed:
    done = run_agent_cli("run", *args, env=agent_env(server.base_url, home), cwd=home)
    done.assert_no_key()
    return done


def error_lines(done: Completed) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("error: ")]


def gets(server: ScriptedOpenRouter, path: str) -> int:
    return sum(1 for r in server.requests if r.method == "GET" and r.path == path)


def test_a_402_names_what_is_left_of_the_keys_limit_in_the_line_and_the_json(tmp_path: Path) -> None:
    key = key_info(usage=4.97, limit=5, limit_remaining=0.03, limit_reset="monthly")
    with ScriptedOpenRouter(credits_error(), credits_error(), credits_error(), key=key) as server:
        human = run(server, tmp_path, "hi")
        machine = run(server, tmp_path, "hi", "--json")
        events = run(server, tmp_path, "hi", "--events")
    expected = (
        "error: not enough credits for this request (402): Insufficient credits. Add more using "
        "https://openrouter.ai/settings/credits. The key has $0.03 of its $5.00 limit left "
        "(usage $4.97, the limit resets monthly). Add credits at https://openrouter.ai/settings/credits, "
        "ask for fewer max_tokens, or use a free model (an id ending in :free)."
    )
    assert (human.code, error_lines(human)) == (4, [expected])
    assert machine.code == 4
    assert machine.json()["error"] == {
        "type": "InsufficientCreditsError",
        "message": expected[len("error: ") :],
    }
    finished = json.loads(events.stdout.splitlines()[-1])  # run_finished: the same error, /key's figures in
    assert (finished["type"], finished["result"]["error"]["message"]) == ("run_finished", expected[7:])
    assert gets(server, KEY_PATH) == 3  # once per failed run
    server.assert_clean()


def test_a_free_tier_429_says_the_key_is_on_the_free_tier(tmp_path: Path) -> None:
    with ScriptedOpenRouter(rate_limit_error(), key=key_info(is_free_tier=True)) as server:
        done = run(server, tmp_path, "hi", "-m", "meta/llama-3.3-70b-instruct:free")
    assert done.code == 1
    assert error_lines(done) == [
        "error: rate limited (429): Rate limit exceeded: free-models-per-day. Add 10 credits to unlock "
        "1000 free model requests per day. The key is on the free tier (is_free_tier): free models allow "
        "20 requests a minute and 50 a day until you buy 10 credits (then 1000 a day). "
        "Rate limit (limit 50 requests, 0 remaining); a daily limit: try again tomorrow."
    ]
    assert len(server.chat_bodies) == 1  # a daily cap is not waited out
    server.assert_clean()


def test_when_the_key_cannot_be_looked_up_the_original_line_stands(tmp_path: Path) -> None:
    with ScriptedOpenRouter(credits_error(), key=error(500, "Internal Server Error")) as server:
        done = run(server, tmp_path, "hi")
    assert done.code == 4
    assert error_lines(done) == [
        "error: not enough credits for this request (402): Insufficient credits. Add more using "
        "https://openrouter.ai/settings/credits. Add credits at https://openrouter.ai/settings/credits, "
        "ask for fewer max_tokens, or use a free model (an id ending in :free)."
    ]
    assert gets(server, KEY_PATH) == 1


def test_other_failures_do_not_look_the_key_up(tmp_path: Path) -> None:
    with ScriptedOpenRouter(error(400, "Invalid request")) as server:
        done = run(server, tmp_path, "hi")
    assert done.code == 1
    assert gets(server, KEY_PATH) == 0


def test_verbose_prints_each_generations_provider_model_cost_latency_and_tokens(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        reply(None, call("fs_list_directory", {"path": "."}), usage=UsageReport(cost=0.00012345)),
        lambda request: reply(
            f"saw {len(last_tool_result(request))} chars",
            usage=UsageReport(prompt_tokens=40, completion_tokens=7, cost=0.0000021, reasoning_tokens=3),
            provider="Fireworks",
        ),
        generations_unknown_for=1,  # each id is unknown at first, as right after a run on OpenRouter
    ) as server:
        done = run(
            server, tmp_path, "list", "-s", f"fs:{tmp_path}", "-m", "acme/model", "--verbose", "--no-stream"
        )
    assert done.code == 0
    assert done.stdout.startswith("saw ")
    lines = [line for line in done.stderr.splitlines() if line.startswith("generation ")]
    assert lines == [
        "generation gen-loopback-1: provider Loopback, model acme/model, cost $0.00012345, "
        "latency 250 ms (generation 200 ms), tokens 10 in, 5 out, finish tool_calls",
        "generation gen-loopback-2: provider Fireworks, model acme/model, cost $0.0000021, "
        "latency 250 ms (generation 200 ms), tokens 40 in, 7 out (3 reasoning), finish stop",
    ]
    assert done.stderr.rstrip().endswith(lines[-1])  # after everything else of the run
    assert [server.generations.asked(f"gen-loopback-{n}") for n in (1, 2)] == [2, 2]


def test_a_generation_that_stays_unknown_is_said_once(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("hello"), generations_unknown_for=10) as server:
        done = run(server, tmp_path, "hi", "--verbose", "--json")
    assert done.json()["generation_ids"] == ["gen-loopback-1"]
    assert done.stderr.splitlines()[-1] == (
        "generation gen-loopback-1: could not be looked up (generation gen-loopback-1 is not known (yet))"
    )
    assert server.generations.asked("gen-loopback-1") == 4


def test_without_verbose_no_generation_is_looked_up(tmp_path: Path) -> None:
    with ScriptedOpenRouter(reply("hello")) as server:
        done = run(server, tmp_path, "hi")
    assert (done.code, done.stdout) == (0, "hello\n")
    assert gets(server, GENERATION_PATH) == 0
    assert "generation " not in done.stderr
