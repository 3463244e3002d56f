"""What an embeddings endpoint names (the answering model, the listed models) cannot drive the terminal."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.cli_helpers import agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter
from tests.loopback.embeddings import EmbeddingsService, embedding_model
from tests.security.test_terminal_output import HOSTILE, assert_clean

MODEL = f"{HOSTILE}evil/embedder{HOSTILE}"


def test_a_hostile_model_id_in_the_answer_is_shown_cleaned_and_kept_exact_in_json(tmp_path: Path) -> None:
    env = agent_env(None, tmp_path)
    with ScriptedOpenRouter() as server:
        server.embeddings = EmbeddingsService(answer_as=MODEL)
        env["OPENROUTER_BASE_URL"] = server.base_url
        summary = run_agent_cli("embed", "hi", "-m", "m", env=env, cwd=tmp_path, process=True)
        jsonl = run_agent_cli("embed", "hi", "-m", "m", "--jsonl", env=env, cwd=tmp_path)
        whole = run_agent_cli("embed", "hi", "-m", "m", "--json", env=env, cwd=tmp_path)
    for done in (summary, jsonl, whole):
        assert done.code == 0, done.stderr
        assert_clean(done.stdout)
        assert_clean(done.stderr)
    assert "evil/embedder: " in summary.stdout
    assert "evil/embedder: " in jsonl.stderr
    assert json.loads(whole.stdout)["model"] == MODEL


def test_hostile_ids_in_the_embedding_model_listing_are_cleaned(tmp_path: Path) -> None:
    with ScriptedOpenRouter(catalog=[embedding_model(MODEL)]) as server:
        done = run_agent_cli(
            "models", "--embeddings", env=agent_env(server.base_url, tmp_path), cwd=tmp_path, process=True
        )
    assert done.code == 0, done.stderr
    assert_clean(done.stdout)
    assert "evil/embedder" in done.stdout
