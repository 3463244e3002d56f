"""Every kind of MCP tool result, through ``agent run`` to what the loopback OpenRouter receives.

A real MCP server process (``tests/fixtures/mcp_results_server.py``) returns text, images,
audio, resource links, embedded resources and structured content; the loopback server records
each request and checks it as a strict provider would (every call answered, in order).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tests.fixtures.mcp_results_server import PNG, WAV
from tests.integration.cli_helpers import Completed, agent_env, run_agent_cli
from tests.loopback import ScriptedOpenRouter, call, catalog_model, reply

RESULTS_SERVER = f"{sys.executable} {Path(__file__).parents[1] / 'fixtures' / 'mcp_results_server.py'}"
TEXT_ONLY = "text/model"
VISION = "vision/model"
LISTENER = "audio/model"
CATALOG = [
    catalog_model(TEXT_ONLY),
    catalog_model(VISION, architecture={"input_modalities": ["text", "image"]}),
    catalog_model(LISTENER, architecture={"input_modalities": ["text", "audio"]}),
]


def run_tool(tmp_path: Path, tool: str, *flags: str, model: str = TEXT_ONLY) -> tuple[Completed, list[Any]]:
    """``agent run --json`` where the model calls ``tool`` once, then answers; the requests' messages."""
    with ScriptedOpenRouter(reply(None, call(tool, {}, id="c1")), reply("done"), catalog=CATALOG) as server:
        done = run_agent_cli(
            "run",
            "use the tool",
            "-s",
            RESULTS_SERVER,
            "-m",
            model,
            "--json",
            "--no-stream",
            "--approval",  # the fixture's tools say nothing, so they count as destructive: not asked here
            "off",
            *flags,
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
        )
        server.assert_clean()  # the strict history checks passed on every request
    assert done.code == 0, done.stderr
    return done, [body["messages"] for body in server.chat_bodies]


def after_call(messages: list[Any]) -> list[Any]:
    """The messages of the second request after the assistant's tool call."""
    index = next(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[index + 1 :]


def output_of(done: Completed) -> tuple[str, bool]:
    [record] = done.json()["tool_calls"]
    assert isinstance(record["output"], str)
    return record["output"], record["is_error"]


def tool_message(content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": "c1", "content": content, "name": "snapshot"}


def test_a_text_result_is_one_plain_tool_message(tmp_path: Path) -> None:
    done, (_, second) = run_tool(tmp_path, "note")
    assert after_call(second) == [
        {"role": "tool", "tool_call_id": "c1", "content": "The launch is on Tuesday.", "name": "note"}
    ]
    assert output_of(done) == ("The launch is on Tuesday.", False)


def test_an_image_reaches_a_model_that_takes_images_as_an_image_url_part_after_the_tool_message(
    tmp_path: Path,
) -> None:
    done, (_, second) = run_tool(tmp_path, "snapshot", model=VISION)
    assert after_call(second) == [
        tool_message(
            "The chart:\n[image: image/png, 2.0 KiB]\n"
            "[1 image of this result is attached to the next user message]"
        ),
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "1 image from tool call c1 (snapshot):"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
            ],
        },
    ]
    assert output_of(done) == ("The chart:\n[image: image/png, 2.0 KiB]", False)


def test_an_image_is_described_to_a_model_that_takes_only_text(tmp_path: Path) -> None:
    done, (_, second) = run_tool(tmp_path, "snapshot")
    assert after_call(second) == [tool_message("The chart:\n[image: image/png, 2.0 KiB]")]
    assert output_of(done) == ("The chart:\n[image: image/png, 2.0 KiB]", False)


def test_an_image_over_the_output_cap_is_left_out_with_a_notice(tmp_path: Path) -> None:
    done, (_, second) = run_tool(tmp_path, "poster", "--max-tool-output", "20000", model=VISION)
    expected = (
        "[image: image/png, 40.0 KiB]\n[image left out: image/png, 40,968 bytes, more than the 19,972 left "
        "of the 20,000-character limit of one tool result]"
    )
    assert after_call(second) == [
        {"role": "tool", "tool_call_id": "c1", "content": expected, "name": "poster"}
    ]
    assert output_of(done) == (expected, False)


def test_audio_is_described_to_a_text_model_and_sent_as_input_audio_to_one_that_listens(
    tmp_path: Path,
) -> None:
    described = "The greeting:\n[audio: audio/wav, 80 bytes]"
    done, (_, second) = run_tool(tmp_path, "recording")
    assert after_call(second) == [
        {"role": "tool", "tool_call_id": "c1", "content": described, "name": "recording"}
    ]
    done, (_, second) = run_tool(tmp_path, "recording", model=LISTENER)
    assert after_call(second) == [
        {
            "role": "tool",
            "tool_call_id": "c1",
            "content": f"{described}\n[1 audio clip of this result is attached to the next user message]",
            "name": "recording",
        },
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "1 audio clip from tool call c1 (recording):"},
                {"type": "input_audio", "input_audio": {"data": WAV, "format": "wav"}},
            ],
        },
    ]
    assert output_of(done) == (described, False)


def test_resource_links_and_embedded_resources_become_lines_of_text(tmp_path: Path) -> None:
    done, (_, second) = run_tool(tmp_path, "references")
    expected = (
        "[resource link: readme <test://readme>, text/markdown]\n"
        "[resource <test://notes>]\nShip on Tuesday.\n"
        "[embedded resource <test://archive>, application/zip, 2.9 KiB]"
    )
    assert after_call(second) == [
        {"role": "tool", "tool_call_id": "c1", "content": expected, "name": "references"}
    ]
    assert output_of(done) == (expected, False)


def test_valid_structured_content_is_added_as_json_unless_the_text_carries_it(tmp_path: Path) -> None:
    done, _ = run_tool(tmp_path, "forecast")
    assert output_of(done) == ('Sunny in Paris.\n{"city":"Paris","celsius":21}', False)
    done, _ = run_tool(tmp_path, "forecast_json")
    assert output_of(done) == ('{"city": "Paris", "celsius": 21}', False)


def test_structured_content_breaking_the_output_schema_is_an_error_result_the_model_sees(
    tmp_path: Path,
) -> None:
    done, (_, second) = run_tool(tmp_path, "broken_forecast")
    expected = (
        "Error calling tool 'broken_forecast': the tool's structured result does not match its output "
        "schema at $.celsius: 'warm' is not of type 'integer'"
    )
    assert after_call(second) == [
        {"role": "tool", "tool_call_id": "c1", "content": expected, "name": "broken_forecast"}
    ]
    assert output_of(done) == (expected, True)
