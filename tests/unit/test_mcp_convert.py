from __future__ import annotations

import base64

import mcp_types as types
import pytest
from mcp import Client

from agent.mcp.convert import outcome_from_error, outcome_from_result, tool_from_mcp
from agent.messages import AudioPart, ImagePart
from agent.tools import ToolInfo, ToolOutcome
from tests.fixtures.mcp_results_server import WEATHER_SCHEMA, build_server

PNG = base64.b64encode(b"\x89PNG" + b"\x00" * 4096).decode()
WAV = base64.b64encode(b"RIFF").decode()


def test_tool_annotations_default_as_the_spec_says() -> None:
    plain = types.Tool(name="t", input_schema={"type": "object"})
    read_only = types.Tool(
        name="r", description="reads", input_schema={}, annotations=types.ToolAnnotations(read_only_hint=True)
    )
    safe_write = types.Tool(
        name="w", input_schema={"type": "object"}, annotations=types.ToolAnnotations(destructive_hint=False)
    )
    assert tool_from_mcp("s", plain) == ToolInfo(
        server="s",
        name="t",
        description="",
        input_schema={"type": "object"},
        read_only=False,
        destructive=True,
    )
    assert (tool_from_mcp("s", read_only).read_only, tool_from_mcp("s", read_only).destructive) == (
        True,
        False,
    )
    assert tool_from_mcp("s", read_only).description == "reads"
    assert tool_from_mcp("s", safe_write).destructive is False


def test_a_declared_output_schema_is_kept_on_the_tool() -> None:
    tool = types.Tool(name="weather", input_schema={"type": "object"}, output_schema=WEATHER_SCHEMA)
    assert tool_from_mcp("s", tool) == ToolInfo(
        server="s",
        name="weather",
        input_schema={"type": "object"},
        destructive=True,
        output_schema=WEATHER_SCHEMA,
    )


def result(
    *content: types.ContentBlock, structured: object = None, is_error: bool = False
) -> types.CallToolResult:
    return types.CallToolResult(content=list(content), structured_content=structured, is_error=is_error)


def text(value: str) -> types.TextContent:
    return types.TextContent(text=value)


CASES = [
    ("one text block", result(text("hello")), ToolOutcome("hello")),
    ("text blocks one per line", result(text("a"), text("b")), ToolOutcome("a\nb")),
    ("an error result", result(text("boom"), is_error=True), ToolOutcome("boom", is_error=True)),
    (
        "an image is described and kept as media",
        result(text("the chart:"), types.ImageContent(data=PNG, mime_type="image/png")),
        ToolOutcome(
            "the chart:\n[image: image/png, 4.0 KiB]", media=(ImagePart(data=PNG, mime_type="image/png"),)
        ),
    ),
    (
        "audio is described and kept as media",
        result(types.AudioContent(data=WAV, mime_type="audio/wav")),
        ToolOutcome("[audio: audio/wav, 4 bytes]", media=(AudioPart(data=WAV, mime_type="audio/wav"),)),
    ),
    (
        "a resource link is a line with name, uri and type",
        result(types.ResourceLink(name="readme", uri="demo://readme", mime_type="text/plain")),
        ToolOutcome("[resource link: readme <demo://readme>, text/plain]"),
    ),
    (
        "an embedded text resource brings its text",
        result(
            types.EmbeddedResource(resource=types.TextResourceContents(uri="demo://inline", text="inline"))
        ),
        ToolOutcome("[resource <demo://inline>]\ninline"),
    ),
    (
        "an embedded blob is described, never dumped",
        result(
            types.EmbeddedResource(
                resource=types.BlobResourceContents(uri="demo://bin", blob=PNG, mime_type="image/png")
            )
        ),
        ToolOutcome("[embedded resource <demo://bin>, image/png, 4.0 KiB]"),
    ),
    (
        "structured content alone becomes JSON text",
        result(structured={"result": 3}),
        ToolOutcome('{"result":3}'),
    ),
    (
        "structured content the text does not carry is added after it",
        result(text("Sunny in Paris."), structured={"city": "Paris", "celsius": 21}),
        ToolOutcome('Sunny in Paris.\n{"city":"Paris","celsius":21}'),
    ),
    (
        "structured content sent as JSON text too is not repeated",
        result(
            text('{\n  "city": "Paris",\n  "celsius": 21\n}'), structured={"city": "Paris", "celsius": 21}
        ),
        ToolOutcome('{\n  "city": "Paris",\n  "celsius": 21\n}'),
    ),
    (
        "a wrapped plain value sent as text is not repeated",
        result(text("3"), structured={"result": 3}),
        ToolOutcome("3"),
    ),
    (
        "a wrapped string sent as text is not repeated",
        result(text("hello"), structured={"result": "hello"}),
        ToolOutcome("hello"),
    ),
    (
        "a file sent as text and as its one field is not repeated",
        result(text("line 1\nline 2\n"), structured={"content": "line 1\nline 2\n"}),
        ToolOutcome("line 1\nline 2\n"),
    ),
    (
        "structured content of an error result is added like any other",
        result(text("failed"), structured={"code": 7}, is_error=True),
        ToolOutcome('failed\n{"code":7}', is_error=True),
    ),
    ("no content at all", result(), ToolOutcome("(the tool returned no content)")),
]


@pytest.mark.parametrize(("tool_result", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_results_become_complete_text_plus_media_without_dumping_binary(
    tool_result: types.CallToolResult, expected: ToolOutcome
) -> None:
    assert outcome_from_result(tool_result) == expected


ERROR_CASES = [
    (
        "other runtime errors keep their message",
        RuntimeError("Tool nope not listed"),
        ToolOutcome("Error calling tool 'weather': Tool nope not listed", is_error=True),
    ),
    (
        "a missing structured result is a schema mismatch",
        RuntimeError("Tool weather has an output schema but did not return structured content"),
        ToolOutcome(
            "Error calling tool 'weather': the tool's structured result does not match its output "
            "schema: the tool declares an output schema but returned no structured result",
            is_error=True,
        ),
    ),
]


@pytest.mark.parametrize(("error", "expected"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_runtime_errors_of_a_call_become_error_results(error: RuntimeError, expected: ToolOutcome) -> None:
    assert outcome_from_error("weather", error) == expected


@pytest.mark.anyio
async def test_a_structured_result_breaking_its_output_schema_says_where_and_how() -> None:
    async with Client(build_server(), mode="legacy") as client:
        await client.list_tools()
        with pytest.raises(RuntimeError) as raised:
            await client.call_tool("broken_forecast", {})
        valid = await client.call_tool("forecast", {})
    assert outcome_from_error("broken_forecast", raised.value) == ToolOutcome(
        "Error calling tool 'broken_forecast': the tool's structured result does not match its output "
        "schema at $.celsius: 'warm' is not of type 'integer'",
        is_error=True,
    )
    assert outcome_from_result(valid) == ToolOutcome('Sunny in Paris.\n{"city":"Paris","celsius":21}')
