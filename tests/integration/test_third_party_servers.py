"""``agent run`` against MCP servers nobody here wrote, each started as a real process.

npm: ``server-everything`` (over stdio and over streamable HTTP on 127.0.0.1), ``server-filesystem``
and ``server-memory`` (installed by ``.ci/run`` from ``.ci/npm``). PyPI: ``mcp-server-time`` and
``mcp-server-git`` (installed by ``.ci/run`` into ``.ci/pyservers/.venv``). The loopback model calls
their tools and answers with the tool messages it was sent, so each test sees what reached it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_helpers import Completed, agent_env, run_agent_cli
from tests.integration.test_cli_servers import NPM_BIN, npm_server
from tests.loopback import Call, ScriptedOpenRouter, Step, call, catalog_model, reply

PYPI_BIN = Path(__file__).parents[2] / ".ci" / "pyservers" / ".venv" / "bin"
EVERYTHING_PACKAGE = NPM_BIN.parent / "@modelcontextprotocol" / "server-everything"
VISION = "vision/model"
CATALOG = [catalog_model(VISION, architecture={"input_modalities": ["text", "image"]})]

LOOPBACK_ONLY = """\
const net = require("node:net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if ((typeof args[0] === "number" || typeof args[0] === "string") && typeof args[1] !== "string") {
    args.splice(1, 0, "127.0.0.1");
  }
  return listen.apply(this, args);
};
"""
"""A node preload that makes ``listen(port)`` bind 127.0.0.1 (server-everything has no host option)."""


def pypi_server(name: str) -> Path:
    """A PyPI reference server installed by .ci/run; required there, skipped elsewhere."""
    path = PYPI_BIN / name
    if not path.exists():
        if os.environ.get("AGENT_REQUIRE_PYPI_SERVERS"):
            pytest.fail(
                f"{path} is not installed (run .ci/run, which installs .ci/pyservers/requirements.txt)"
            )
        pytest.skip(f"{name} is not installed; .ci/run installs it into .ci/pyservers/.venv")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def listening(proc: subprocess.Popen[bytes], port: int, deadline: float = 20.0) -> bool:
    """Poll until ``proc`` accepts connections on 127.0.0.1:``port``: True, or False if it exited.

    Bounded: a server that neither listens nor exits within ``deadline`` seconds fails the test.
    """
    give_up = time.monotonic() + deadline
    while time.monotonic() < give_up:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"the server did not listen on 127.0.0.1:{port} within {deadline} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def everything_over_http(tmp_path: Path) -> Iterator[str]:
    """server-everything in its streamable HTTP mode on a free loopback port; yields its URL.

    A server that exits before it listens most likely lost its port to another process between
    :func:`free_port` and its start: it is tried again, on another port, twice at most.
    """
    server_bin = npm_server("mcp-server-everything")
    preload = tmp_path / "loopback-only.cjs"
    preload.write_text(LOOPBACK_ONLY)
    log = tmp_path / "everything-http.log"
    for _ in range(3):
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PORT": str(port),
            "NODE_OPTIONS": f'--require "{preload}"',
        }
        with (
            log.open("wb") as output,
            subprocess.Popen(
                [str(server_bin), "streamableHttp"],
                env=env,
                cwd=tmp_path,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            ) as proc,
        ):
            try:
                if listening(proc, port):
                    yield f"http://127.0.0.1:{port}/mcp"
                    return
            finally:
                stop(proc)
    pytest.fail(f"server-everything exited before listening, three times; it said:\n{log.read_text()}")


@contextmanager
def everything_config(tmp_path: Path, transport: str) -> Iterator[Path]:
    """An MCP config naming server-everything ``everything``, over stdio or streamable HTTP."""
    config = tmp_path / "mcp.json"
    if transport == "stdio":
        entry: dict[str, Any] = {"command": str(npm_server("mcp-server-everything")), "args": ["stdio"]}
        config.write_text(json.dumps({"mcpServers": {"everything": entry}}))
        yield config
        return
    with everything_over_http(tmp_path) as url:
        config.write_text(json.dumps({"mcpServers": {"everything": {"type": "http", "url": url}}}))
        yield config


def tool_messages(request: dict[str, Any]) -> Step:
    """Answer with the contents of the tool messages of the last turn, as a JSON list."""
    messages = request["messages"]
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return reply(json.dumps([m["content"] for m in messages[last + 1 :] if m["role"] == "tool"]))


def run_calls(
    tmp_path: Path,
    server_args: Sequence[str],
    *turns: Sequence[Call],
    model: str | None = None,
    cwd: Path | None = None,
) -> tuple[Completed, list[str], ScriptedOpenRouter]:
    """``agent run --json`` where the model makes each turn's calls, then answers with the last
    turn's tool messages; the exit, those messages as the model received them, and the server.
    """
    steps: list[Step] = [reply(None, *calls) for calls in turns]
    with ScriptedOpenRouter(*steps, tool_messages, catalog=CATALOG) as server:
        done = run_agent_cli(
            "run",
            "use the tools",
            *server_args,
            *(["-m", model] if model else []),
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=cwd or tmp_path,
        )
        server.assert_clean()
    assert done.code == 0, done.stderr
    result = done.json()
    assert result["stop_reason"] == "completed"
    assert result["turns"] == len(turns) + 1
    received = json.loads(result["output"])
    assert isinstance(received, list)
    return done, received, server


# -- server-everything ------------------------------------------------------------------------


@pytest.mark.npm
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_everything_server_results_of_every_content_type_reach_the_model(
    tmp_path: Path, transport: str
) -> None:
    with everything_config(tmp_path, transport) as config:
        done, received, server = run_calls(
            tmp_path,
            ["--mcp-config", str(config), "-s", "everything"],
            [
                call("echo", {"message": "over " + transport}, id="c1"),
                call("get-tiny-image", id="c2"),
                call("get-annotated-message", {"messageType": "debug", "includeImage": False}, id="c3"),
                call("get-resource-links", {"count": 2}, id="c4"),
                call("get-resource-reference", {"resourceType": "Text", "resourceId": 2}, id="c5"),
                call("get-resource-reference", {"resourceType": "Blob", "resourceId": 3}, id="c6"),
                call("get-structured-content", {"location": "Chicago"}, id="c7"),
            ],
            model=VISION,
        )
    echo, image, annotated, links, text_resource, blob_resource, structured = received
    assert echo == f"Echo: over {transport}"
    assert image == (
        "Here's the image you requested:\n[image: image/png, 3.9 KiB]\nThe image above is the MCP logo.\n"
        "[1 image of this result is attached to the next user message]"
    )
    assert annotated == "Debug: Cache hit ratio 0.95, latency 150ms"
    assert links == (
        "Here are 2 resource links to resources available in this server:\n"
        "[resource link: Blob Resource 1 <demo://resource/dynamic/blob/1>, text/plain]\n"
        "[resource link: Text Resource 2 <demo://resource/dynamic/text/2>, text/plain]"
    )
    assert re.fullmatch(
        r"Returning resource reference for Resource 2:\n\[resource <demo://resource/dynamic/text/2>\]\n"
        r"Resource 2: This is a plaintext resource created at .+\n"
        r"You can access this resource using the URI: demo://resource/dynamic/text/2",
        text_resource,
    )
    assert re.fullmatch(
        r"Returning resource reference for Resource 3:\n"
        r"\[embedded resource <demo://resource/dynamic/blob/3>, text/plain, \d+ bytes\]\n"
        r"You can access this resource using the URI: demo://resource/dynamic/blob/3",
        blob_resource,
    )
    assert json.loads(structured) == {"temperature": 36, "conditions": "Light rain / drizzle", "humidity": 82}

    # the logo itself follows the tool messages as an image part, for a model that takes images
    messages = server.chat_bodies[1]["messages"]
    [attached] = [m for m in messages if m["role"] == "user" and isinstance(m["content"], list)]
    label, picture = attached["content"]
    assert label == {"type": "text", "text": "1 image from tool call c2 (get-tiny-image):"}
    prefix = "data:image/png;base64,"
    assert picture["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(picture["image_url"]["url"][len(prefix) :]).startswith(b"\x89PNG\r\n\x1a\n")

    calls = done.json()["tool_calls"]
    assert [(c["server"], c["tool"], c["is_error"]) for c in calls] == [
        ("everything", name, False)
        for name in (
            "echo",
            "get-tiny-image",
            "get-annotated-message",
            "get-resource-links",
            "get-resource-reference",
            "get-resource-reference",
            "get-structured-content",
        )
    ]


@pytest.mark.npm
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_everything_server_long_running_operation_that_reports_progress_completes(
    tmp_path: Path, transport: str
) -> None:
    with everything_config(tmp_path, transport) as config:
        done, received, _ = run_calls(
            tmp_path,
            ["--mcp-config", str(config), "-s", "everything"],
            [call("trigger-long-running-operation", {"duration": 0.6, "steps": 3})],
        )
    assert received == ["Long running operation completed. Duration: 0.6 seconds, Steps: 3."]
    assert done.json()["tool_calls"][0]["is_error"] is False


@pytest.mark.npm
def test_everything_server_resources_and_prompts_are_listed_as_json(tmp_path: Path) -> None:
    with everything_config(tmp_path, "stdio") as config:
        args = ["--mcp-config", str(config), "-s", "everything", "--json"]
        resources = run_agent_cli("resources", *args, env=agent_env(None, tmp_path), cwd=tmp_path)
        prompts = run_agent_cli("prompts", *args, env=agent_env(None, tmp_path), cwd=tmp_path)
    assert resources.code == 0, resources.stderr
    listed = json.loads(resources.stdout)
    assert {(r["server"], r["uri"], r["template"], r["mime_type"]) for r in listed} >= {
        ("everything", "demo://resource/static/document/features.md", False, "text/markdown"),
        ("everything", "demo://resource/dynamic/text/{resourceId}", True, "text/plain"),
        ("everything", "demo://resource/dynamic/blob/{resourceId}", True, "application/octet-stream"),
    }
    assert prompts.code == 0, prompts.stderr
    assert {
        p["name"]: [(a["name"], a["required"]) for a in p["arguments"]] for p in json.loads(prompts.stdout)
    } == {
        "simple-prompt": [],
        "args-prompt": [("city", True), ("state", False)],
        "completable-prompt": [("department", True), ("name", True)],
        "resource-prompt": [("resourceType", True), ("resourceId", True)],
    }


@pytest.mark.npm
def test_everything_server_resource_and_prompt_open_the_conversation(tmp_path: Path) -> None:
    document = (EVERYTHING_PACKAGE / "dist" / "docs" / "features.md").read_text()
    with everything_config(tmp_path, "stdio") as config, ScriptedOpenRouter(reply("noted")) as server:
        done = run_agent_cli(
            "run",
            "Which features matter here?",
            "--mcp-config",
            str(config),
            "-s",
            "everything",
            "--resource",
            "everything:demo://resource/static/document/features.md",
            "--prompt",
            "everything:args-prompt",
            "--arg",
            "city=Paris",
            "--json",
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
        server.assert_clean()
    assert done.code == 0, done.stderr
    label = 'server="everything" uri="demo://resource/static/document/features.md" mime_type="text/markdown"'
    assert server.chat_bodies[0]["messages"] == [
        {"role": "user", "content": f"<resource {label}>\n{document}\n</resource>"},
        {"role": "user", "content": "What's weather in Paris?"},
        {"role": "user", "content": "Which features matter here?"},
    ]
    assert done.json()["output"] == "noted"


# -- server-filesystem and server-memory ------------------------------------------------------


@pytest.mark.npm
def test_filesystem_server_reads_lists_and_searches_inside_its_root_only(tmp_path: Path) -> None:
    server_bin = npm_server("mcp-server-filesystem")
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "notes.txt").write_text("alpha beta\n")
    (root / "docs" / "guide.md").write_text("# Guide\n")
    (root / "docs" / "todo.txt").write_text("nothing\n")
    (tmp_path / "secret.txt").write_text("top secret")
    done, received, _ = run_calls(
        tmp_path,
        ["-s", f"{server_bin} {root}"],
        [
            call("read_text_file", {"path": str(root / "notes.txt")}),
            call("list_directory", {"path": str(root)}),
            call("search_files", {"path": str(root), "pattern": "**/*.md"}),
            call("read_text_file", {"path": str(tmp_path / "secret.txt")}),
        ],
        cwd=root,
    )
    read, listing, found, refused = received
    assert read == "alpha beta\n"
    assert listing == "[DIR] docs\n[FILE] notes.txt"
    assert found == str(root / "docs" / "guide.md")
    assert "Access denied" in refused
    assert "top secret" not in done.stdout
    assert [c["is_error"] for c in done.json()["tool_calls"]] == [False, False, False, True]


ADA = {"name": "Ada", "entityType": "person", "observations": ["wrote the first program"]}
ENGINE = {"name": "Engine", "entityType": "machine", "observations": []}
RELATION = {"from": "Ada", "to": "Engine", "relationType": "programmed"}
SAVED_GRAPH = [{"type": "entity", **ADA}, {"type": "entity", **ENGINE}, {"type": "relation", **RELATION}]
"""The memory server's file once both entities and the relation are written."""


def memory_config(tmp_path: Path) -> tuple[Path, Path]:
    """An MCP config of server-memory as ``memory``, and the graph file it keeps."""
    graph_file = tmp_path / "graph.jsonl"
    config = tmp_path / "mcp.json"
    entry = {"command": str(npm_server("mcp-server-memory")), "env": {"MEMORY_FILE_PATH": str(graph_file)}}
    config.write_text(json.dumps({"mcpServers": {"memory": entry}}))
    return config, graph_file


@pytest.mark.npm
def test_memory_server_keeps_entities_and_relations_across_turns_in_its_file(tmp_path: Path) -> None:
    config, graph_file = memory_config(tmp_path)
    ada, engine, relation = ADA, ENGINE, RELATION
    # one write per turn: what one turn saved, the next loads (writes in one turn: the next test)
    done, received, _ = run_calls(
        tmp_path,
        ["--mcp-config", str(config), "-s", "memory"],
        [call("create_entities", {"entities": [ada, engine]})],
        [call("create_relations", {"relations": [relation]})],
        [call("read_graph"), call("search_nodes", {"query": "program"})],
    )
    graph, search = map(json.loads, received)
    assert graph == {"entities": [ada, engine], "relations": [relation]}
    assert search == {"entities": [ada], "relations": [relation]}
    assert [json.loads(line) for line in graph_file.read_text().splitlines()] == SAVED_GRAPH
    assert [c["tool"] for c in done.json()["tool_calls"]] == [
        "create_entities",
        "create_relations",
        "read_graph",
        "search_nodes",
    ]


@pytest.mark.npm
def test_memory_server_keeps_both_writes_of_one_turn_as_they_run_in_call_order(tmp_path: Path) -> None:
    # The server loads and saves its whole file per call: its two writes of one turn, if run
    # concurrently, would each save the graph without the other's part. Neither is annotated
    # read-only, so the runtime runs them one after another, in the model's order.
    config, graph_file = memory_config(tmp_path)
    ada, engine, relation = ADA, ENGINE, RELATION
    done, received, _ = run_calls(
        tmp_path,
        ["--mcp-config", str(config), "-s", "memory"],
        [
            call("create_entities", {"entities": [ada, engine]}),
            call("create_relations", {"relations": [relation]}),
        ],
        [call("read_graph")],
    )
    assert json.loads(received[0]) == {"entities": [ada, engine], "relations": [relation]}
    assert [json.loads(line) for line in graph_file.read_text().splitlines()] == SAVED_GRAPH
    calls = done.json()["tool_calls"]
    assert [(c["tool"], c["is_error"]) for c in calls] == [
        ("create_entities", False),
        ("create_relations", False),
        ("read_graph", False),
    ]


# -- mcp-server-time and mcp-server-git (PyPI) ------------------------------------------------


def test_time_server_tells_the_time_in_a_zone_and_converts_between_zones(tmp_path: Path) -> None:
    server_bin = pypi_server("mcp-server-time")
    done, received, _ = run_calls(
        tmp_path,
        ["-s", f"{server_bin} --local-timezone=UTC"],
        [
            call("get_current_time", {"timezone": "Asia/Tokyo"}),
            call(
                "convert_time", {"source_timezone": "UTC", "time": "12:30", "target_timezone": "Asia/Kolkata"}
            ),
            call("get_current_time", {"timezone": "Mars/Olympus_Mons"}),
        ],
    )
    now, converted, unknown = received
    tokyo = json.loads(now)
    assert (tokyo["timezone"], tokyo["is_dst"]) == ("Asia/Tokyo", False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+09:00", tokyo["datetime"])
    conversion = json.loads(converted)
    assert conversion["source"]["datetime"].endswith("T12:30:00+00:00")
    assert conversion["target"]["datetime"].endswith("T18:00:00+05:30")
    assert conversion["time_difference"] == "+5.5h"
    assert "Invalid timezone" in unknown
    assert [c["is_error"] for c in done.json()["tool_calls"]] == [False, False, True]


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with no user or system config and fixed identity and dates."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(repo),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.com",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.com",
        "GIT_AUTHOR_DATE": "2026-01-02T03:04:05+00:00",
        "GIT_COMMITTER_DATE": "2026-01-02T03:04:05+00:00",
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_git_server_reports_status_and_log_of_a_repository(tmp_path: Path) -> None:
    server_bin = pypi_server("mcp-server-git")
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / "a.txt").write_text("one\n")
    git(repo, "add", "a.txt")
    git(repo, "commit", "--quiet", "-m", "Add a.txt")
    head = git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").write_text("two\n")
    (repo / "new.txt").write_text("new\n")
    done, received, _ = run_calls(
        tmp_path,
        ["-s", f"{server_bin} --repository {repo}"],
        [
            call("git_status", {"repo_path": str(repo)}),
            call("git_log", {"repo_path": str(repo), "max_count": 5}),
            call("git_diff_unstaged", {"repo_path": str(repo)}),
        ],
    )
    status, log, diff = received
    assert status.startswith("Repository status:\nOn branch main\n")
    assert "modified:   a.txt" in status
    assert "new.txt" in status.split("Untracked files:")[1]
    assert log == (
        f"Commit history:\nCommit: {head}\nAuthor: Ada\n"
        "Date: 2026-01-02 03:04:05+00:00\nMessage: Add a.txt\n\n"
    )
    assert diff.startswith("Unstaged changes:\ndiff --git a/a.txt b/a.txt\n")
    assert diff.endswith("@@ -1 +1 @@\n-one\n+two")
    assert [c["is_error"] for c in done.json()["tool_calls"]] == [False, False, False]
