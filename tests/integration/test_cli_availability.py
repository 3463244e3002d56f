"""OpenRouter's ``error.availability`` through the real CLI: retries as it says, and its fallbacks.

``retryable`` decides whether a request is sent again and ``retry_after`` after how long;
``fallback_models`` are suggested in the error line, and with ``--auto-fallback`` they answer.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tests.integration.cli_helpers import Completed, agent_env, run_agent_cli
from tests.loopback import ErrorReply, ScriptedOpenRouter, availability_error, reply

OLD = "acme/old-model"
NEW = "acme/new-model"
OTHER = "acme/other-model"


def run(server: ScriptedOpenRouter, home: Path, *args: str) -> Completed:
    done = run_agent_cli("run", *args, env=agent_env(server.base_url, home), cwd=home)
    done.assert_no_key()
    return done


def warnings(done: Completed) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith(("warning: ", "error: "))]


def test_a_retryable_503_is_retried_after_the_bodys_retry_after(tmp_path: Path) -> None:
    busy = availability_error(
        503, "All providers are busy.", code="temporarily_unavailable", retryable=True, retry_after=0.3
    )
    busy = dataclasses.replace(busy, headers={})  # only the body says how long to wait
    with ScriptedOpenRouter(busy, reply("fine now")) as server:
        done = run(server, tmp_path, "hi", "-m", OLD)
    assert (done.code, done.stdout) == (0, "fine now\n")
    assert warnings(done) == [
        f"warning: {OLD}: the provider is unavailable (503): All providers are busy. "
        "— retrying in 0.3 s (attempt 2)"
    ]
    assert len(server.chat_bodies) == 2
    server.assert_clean()


def test_a_503_marked_not_retryable_is_not_sent_again(tmp_path: Path) -> None:
    down = availability_error(503, "Nothing can serve this.", code="temporarily_unavailable", retryable=False)
    with ScriptedOpenRouter(down) as server:
        done = run(server, tmp_path, "hi", "-m", OLD, "--json")
    assert done.code == 1
    assert done.json()["error"]["type"] == "ProviderUnavailableError"
    assert len(server.chat_bodies) == 1
    server.assert_clean()


def deprecated() -> ErrorReply:
    return availability_error(
        404,
        f"{OLD} is deprecated.",
        code="model_deprecated",
        retryable=False,
        requested_models=[OLD],
        fallback_models=[NEW, OTHER],
    )


def test_the_models_openrouter_suggests_are_named_in_the_error_line(tmp_path: Path) -> None:
    with ScriptedOpenRouter(deprecated()) as server:
        done = run(server, tmp_path, "hi", "-m", OLD)
    assert done.code == 1
    assert warnings(done) == [
        f"error: model {OLD} is not available (404): {OLD} is deprecated. The model id '{OLD}' was not "
        "found or has no available endpoint; look it up with `agent models --search old-model`. "
        f"OpenRouter suggests: {NEW}, {OTHER} (--fallback or --auto-fallback)."
    ]
    assert len(server.chat_bodies) == 1


def test_auto_fallback_hands_the_run_to_the_suggested_model(tmp_path: Path) -> None:
    with ScriptedOpenRouter(
        models={OLD: [deprecated()], NEW: [reply("from the new model"), reply("still new")]}
    ) as server:
        done = run(server, tmp_path, "hi", "-m", OLD, "--auto-fallback", "--json")
    assert done.code == 0
    result = done.json()
    assert (result["output"], result["model"], result["models_tried"]) == (
        "from the new model",
        NEW,
        [OLD, NEW],
    )
    assert [body["model"] for body in server.chat_bodies] == [OLD, NEW]
    assert warnings(done) == [
        f"warning: {OLD} is unavailable (model {OLD} is not available (404): {OLD} is deprecated; "
        f"OpenRouter suggests {NEW}, {OTHER}); trying {NEW}"
    ]
    assert server.remaining() == {NEW: 1}


def test_auto_fallback_from_the_provider_file(tmp_path: Path) -> None:
    folder = tmp_path / "agent-config" / "providers"
    folder.mkdir(parents=True)
    (folder / "openrouter.yaml").write_text(
        "interface_type: openai_compatible\nprovider_name: openrouter\nconfig:\n"
        "  api_key: ${OPENROUTER_API_KEY}\n  api_endpoint: https://openrouter.ai/api/v1\n"
        f"  default_model: {OLD}\n  auto_fallback: true\n"
    )
    with ScriptedOpenRouter(models={OLD: [deprecated()], NEW: [reply("from the new model")]}) as server:
        done = run(server, tmp_path, "hi", "--json")
    assert (done.code, done.json()["model"]) == (0, NEW)
    server.assert_clean()
