from __future__ import annotations

import base64

import mcp_types as types
import pytest

from agent.mcp.convert import outcome_from_result, tool_from_mcp
from agent.tools import ToolInfo, ToolOutcome

PNG = base64.b64encode(b"\x89PNG" + b"\x00" * 4096).decode()


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


def result(
    *content: types.ContentBlock, structured: object = None, is_error: bool = False
) -> types.CallToolResult:
    return types.CallToolResult(content=list(content), structured_content=structured, is_error=is_error)


@pytest.mark.parametrize(
    ("tool_result", "expected"),
    [
        (result(types.TextContent(text="hello")), ToolOutcome("hello")),
        (result(types.TextContent(text="a"), types.TextContent(text="b")), ToolOutcome("a\nb")),
        (result(types.TextContent(text="boom"), is_error=True), ToolOutcome("boom", is_error=True)),
        (result(structured={"result": 3}), ToolOutcome('{"result":3}')),
        (
            result(types.TextContent(text="3"), structured={"result": 3}),
            ToolOutcome("3"),
        ),
        (
            result(types.ImageContent(data=PNG, mime_type="image/png")),
            ToolOutcome("[image: image/png, 4.0 KiB]"),
        ),
        (
            result(types.AudioContent(data=base64.b64encode(b"RIFF").decode(), mime_type="audio/wav")),
            ToolOutcome("[audio: audio/wav, 4 bytes]"),
        ),
        (
            result(types.ResourceLink(name="readme", uri="demo://readme", mime_type="text/plain")),
            ToolOutcome("[resource link: readme <demo://readme>, text/plain]"),
        ),
        (
            result(
                types.EmbeddedResource(
                    resource=types.TextResourceContents(uri="demo://inline", text="inline text")
                )
            ),
            ToolOutcome("[resource <demo://inline>]\ninline text"),
        ),
        (
            result(
                types.EmbeddedResource(
                    resource=types.BlobResourceContents(uri="demo://bin", blob=PNG, mime_type="image/png")
                )
            ),
            ToolOutcome("[embedded resource <demo://bin>, image/png, 4.0 KiB]"),
        ),
        (result(), ToolOutcome("(the tool returned no content)")),
    ],
)
def test_results_become_text_for_the_model_without_dumping_binary(
    tool_result: types.CallToolResult, expected: ToolOutcome
) -> None:
    assert outcome_from_result(tool_result) == expected
