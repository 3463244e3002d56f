"""``agent embed`` and ``agent models --embeddings`` end to end: the real CLI, a loopback OpenRouter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent import Agent, Embeddings, InsufficientCreditsError
from agent.messages import Usage
from tests.integration.cli_helpers import TEST_KEY, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, catalog_model, error
from tests.loopback.embeddings import PRICE_PER_TOKEN, embedding_model, tokens_of, vector_of

pytestmark = pytest.mark.anyio

MODEL = "openai/text-embedding-3-small"
CATALOG = [
    catalog_model("chat/model"),
    embedding_model(MODEL),
    embedding_model("qwen/qwen3-embedding-8b", context_length=32_768, prompt_price="0.00000001"),
]


def embed_requests(server: ScriptedOpenRouter) -> list[list[str]]:
    """The ``input`` of each ``POST /embeddings``, in arrival order."""
    return [r.body["input"] for r in server.requests if r.path.endswith("/embeddings")]


def test_texts_from_arguments_give_a_one_line_summary(tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        done = run_agent_cli(
            "embed", "hello", "world", "-m", MODEL, env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
        bodies = server.embeddings.bodies
    assert done.code == 0, done.stderr
    assert (
        done.stdout == f"2 embeddings of 8 dimensions from {MODEL}: 4 tokens, cost $0.00000008, 1 request\n"
    )
    assert done.stderr == ""
    assert bodies == [{"model": MODEL, "input": ["hello", "world"], "encoding_format": "float"}]
    server.assert_clean()


def test_json_holds_every_vector_in_input_order_with_usage_and_cost(tmp_path: Path) -> None:
    texts = ["one", "two", "three"]
    with ScriptedOpenRouter() as server:
        done = run_agent_cli(
            "embed", *texts, "-m", MODEL, "--json", "--dimensions", "5", "--batch-size", "2",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path,
        )  # fmt: skip
    assert done.code == 0, done.stderr
    tokens = sum(tokens_of(t) for t in texts)
    assert done.json() == {
        "model": MODEL,
        "dimensions": 5,
        "data": [{"index": i, "embedding": vector_of(t, 5)} for i, t in enumerate(texts)],
        "usage": {
            "prompt_tokens": tokens,
            "total_tokens": tokens,
            "cost": pytest.approx(tokens * PRICE_PER_TOKEN),
        },
    }
    assert embed_requests(server) in (
        [["one", "two"], ["three"]],
        [["three"], ["one", "two"]],
    )
    assert all(b["dimensions"] == 5 for b in server.embeddings.bodies)
    assert done.stderr == ""


def test_lines_of_files_and_stdin_are_texts_after_the_arguments_and_batched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("first line\n\n  \nsecond line\r\nthird line\n", encoding="utf-8")
    with ScriptedOpenRouter() as server:
        done = run_agent_cli(
            "embed", "argument", "-f", "notes.txt", "-f", "-", "--lines", "-m", MODEL, "--jsonl",
            "--batch-size", "2", "--concurrency", "1",
            env=agent_env(server.base_url, tmp_path), cwd=tmp_path, stdin="from stdin\n\nlast\n",
        )  # fmt: skip
    assert done.code == 0, done.stderr
    texts = ["argument", "first line", "second line", "third line", "from stdin", "last"]
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"index": i, "embedding": vector_of(t)} for i, t in enumerate(texts)
    ]
    assert embed_requests(server) == [texts[0:2], texts[2:4], texts[4:6]]
    assert done.stderr.startswith(f"6 embeddings of 8 dimensions from {MODEL}: ")
    assert done.stderr.endswith(", 3 requests\n")


def test_stdin_is_one_text_when_nothing_else_is_given_and_a_file_is_one_text(tmp_path: Path) -> None:
    (tmp_path / "doc.md").write_text("# Title\n\nbody\n", encoding="utf-8")
    env = agent_env(None, tmp_path)
    with ScriptedOpenRouter() as server:
        env["OPENROUTER_BASE_URL"] = server.base_url
        piped = run_agent_cli(
            "embed", "-m", MODEL, "--json", env=env, cwd=tmp_path, stdin="a whole\ndocument\n"
        )
        filed = run_agent_cli("embed", "-m", MODEL, "--json", "-f", "doc.md", env=env, cwd=tmp_path)
    assert piped.json()["data"] == [{"index": 0, "embedding": vector_of("a whole\ndocument\n")}]
    assert filed.json()["data"] == [{"index": 0, "embedding": vector_of("# Title\n\nbody\n")}]


MISSING = "error: --file: cannot read missing.txt: No such file or directory\n"
RANGE = "error: agent embed: Invalid value for '--dimensions': Input should be greater than or equal to 1"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["-m", MODEL], "", "error: stdin is empty\n"),
        (["-m", MODEL, "--lines"], "\n \n", "error: --lines: nothing to embed: every line read is blank\n"),
        (["", "-m", MODEL], None, "error: TEXT #1 is empty\n"),
        (["-f", "missing.txt", "-m", MODEL], None, MISSING),
        (["a", "-m", MODEL, "--json", "--jsonl"], None, "error: --jsonl: give one of --json and --jsonl\n"),
        (["a", "-m", MODEL, "--dimensions", "0"], None, f"{RANGE} (see 'agent embed --help')\n"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_before_any_request(
    tmp_path: Path, args: list[str], stdin: str | None, message: str
) -> None:
    with ScriptedOpenRouter() as server:
        done = run_agent_cli(
            "embed", *args, env=agent_env(server.base_url, tmp_path), cwd=tmp_path, stdin=stdin
        )
    assert (done.code, done.stdout, done.stderr) == (2, "", message)
    assert server.requests == []


def test_no_credits_is_one_error_line_and_exit_4_without_the_key(tmp_path: Path) -> None:
    with ScriptedOpenRouter() as server:
        server.embeddings.fail_next(
            error(402, "Insufficient credits. Add more using https://openrouter.ai/credits")
        )
        done = run_agent_cli(
            "embed", "a", "-m", MODEL, env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert done.code == 4
    assert done.stdout == ""
    assert done.stderr == (
        "error: not enough credits for this request (402): "
        "Insufficient credits. Add more using https://openrouter.ai/credits\n"
    )
    done.assert_no_key()


def test_a_refused_key_exits_4_and_an_unknown_model_exits_1(tmp_path: Path) -> None:
    with ScriptedOpenRouter(api_key="sk-or-v1-the-right-one-0123456789abcdef") as server:
        refused = run_agent_cli(
            "embed", "a", "-m", MODEL, env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    with ScriptedOpenRouter() as server:
        server.embeddings.fail_next(error(404, "Model not found"))
        unknown = run_agent_cli(
            "embed", "a", "-m", "no/such", env=agent_env(server.base_url, tmp_path), cwd=tmp_path
        )
    assert (refused.code, refused.stderr) == (4, "error: the API key was refused (401): User not found.\n")
    refused.assert_no_key()
    assert unknown.code == 1
    assert unknown.stderr.startswith("error: model no/such is not available (404): Model not found")


def test_models_embeddings_lists_only_the_embedding_models(tmp_path: Path) -> None:
    env = agent_env(None, tmp_path)
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        env["OPENROUTER_BASE_URL"] = server.base_url
        table = run_agent_cli("models", "--embeddings", env=env, cwd=tmp_path)
        listed = run_agent_cli("models", "--embeddings", "--json", "--search", "qwen", env=env, cwd=tmp_path)
        chat = run_agent_cli("models", "--json", env=env, cwd=tmp_path)
        both = run_agent_cli("models", "--embeddings", "--tools", env=env, cwd=tmp_path)
        paths = [r.path for r in server.requests]
    assert table.code == 0, table.stderr
    assert table.stdout.splitlines() == [
        "MODEL                          CONTEXT  $/M IN",
        "openai/text-embedding-3-small       8k  0.0200",
        "qwen/qwen3-embedding-8b            33k  0.0100",
    ]
    assert table.stderr == "info: 2 of 2 embedding models\n"
    assert json.loads(listed.stdout) == [
        {
            "id": "qwen/qwen3-embedding-8b",
            "name": "qwen/qwen3-embedding-8b",
            "context_length": 32_768,
            "prompt_per_million": 0.01,
            "free": False,
            "created": 1_750_000_000,
        }
    ]
    assert [m["id"] for m in json.loads(chat.stdout)] == ["chat/model"]
    assert (both.code, both.stderr) == (
        2,
        "error: --tools: embedding models take no tools; give one of --tools and --embeddings\n",
    )
    # the embedding listing is cached apart from the chat catalog: one fetch of each
    assert paths == ["/api/v1/embeddings/models", "/api/v1/models"]


async def test_agent_embed_needs_no_servers_and_works_entered_or_not(tmp_path: Path) -> None:
    env = agent_env(None, tmp_path)
    with ScriptedOpenRouter(catalog=CATALOG) as server:
        env["OPENROUTER_BASE_URL"] = server.base_url
        result = await Agent(env=env, cwd=tmp_path).embed(["a", "b", "c"], model=MODEL, batch_size=2)
        async with Agent(env=env, cwd=tmp_path, no_servers=True).servers_only() as listing:
            only = await listing.embed(["d"], model=MODEL, dimensions=3)
        async with Agent(env=env, cwd=tmp_path, model="chat/model", no_servers=True) as entered:
            pooled = await entered.embed(["e"], model=MODEL)
    assert result == Embeddings(
        vectors=[vector_of(t) for t in "abc"],
        model=MODEL,
        usage=Usage(prompt_tokens=3, total_tokens=3, cost=2 * PRICE_PER_TOKEN + PRICE_PER_TOKEN),
        requests=2,
    )
    assert only.vectors == [vector_of("d", 3)]
    assert pooled.vectors == [vector_of("e")]
    assert all(r.headers["authorization"] == f"Bearer {TEST_KEY}" for r in server.requests)
    server.assert_clean()


async def test_agent_embed_raises_the_typed_error(tmp_path: Path) -> None:
    env = agent_env(None, tmp_path)
    with ScriptedOpenRouter() as server:
        env["OPENROUTER_BASE_URL"] = server.base_url
        server.embeddings.fail_next(error(402, "Insufficient credits"))
        with pytest.raises(InsufficientCreditsError, match="not enough credits"):
            await Agent(env=env, cwd=tmp_path).embed(["a"], model=MODEL)
