"""The one boundary between MCP SDK types and the runtime's own types."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from agent import safe_json
from agent.messages import AudioPart, ImagePart, MediaPart, base64_size
from agent.tools import ToolInfo, ToolOutcome

if TYPE_CHECKING:
    import mcp_types as types

__all__ = ["outcome_from_error", "outcome_from_result", "tool_from_mcp"]

SCHEMA_MISMATCH = "the tool's structured result does not match its output schema"
_NO_STRUCTURED = "has an output schema but did not return structured content"
"""How the SDK says a tool with an output schema sent no structured result (it has no type of its own)."""


def tool_from_mcp(server: str, tool: types.Tool) -> ToolInfo:
    """Describe an MCP tool in the runtime's terms (annotations default as the spec says)."""
    annotations = tool.annotations
    read_only = bool(annotations and annotations.read_only_hint)
    destructive = not read_only and (
        annotations is None or annotations.destructive_hint is None or bool(annotations.destructive_hint)
    )
    schema = dict(tool.input_schema) if tool.input_schema else {"type": "object", "properties": {}}
    return ToolInfo(
        server=server,
        name=tool.name,
        description=tool.description or tool.title or "",
        input_schema=schema,
        read_only=read_only,
        destructive=destructive,
        output_schema=dict(tool.output_schema) if tool.output_schema is not None else None,
        annotations=annotations.model_dump(exclude_none=True, exclude={"title"}) if annotations else {},
    )


def _size(data: str) -> str:
    """Human size of base64 ``data`` without decoding it."""
    n = base64_size(data)
    return f"{n} bytes" if n < 1024 else f"{n / 1024:.1f} KiB"


def _block(block: Any) -> tuple[str, MediaPart | None]:
    """One content block as a line (or lines) of text, and the image or audio it carries."""
    kind = getattr(block, "type", None)
    if kind == "text":
        return str(block.text), None
    if kind == "image":
        return f"[image: {block.mime_type}, {_size(block.data)}]", ImagePart(
            data=block.data, mime_type=block.mime_type
        )
    if kind == "audio":
        return f"[audio: {block.mime_type}, {_size(block.data)}]", AudioPart(
            data=block.data, mime_type=block.mime_type
        )
    if kind == "resource_link":
        mime = f", {block.mime_type}" if block.mime_type else ""
        return f"[resource link: {block.name} <{block.uri}>{mime}]", None
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return f"[resource <{resource.uri}>]\n{text}", None
        mime = f", {resource.mime_type}" if resource.mime_type else ""
        blob = getattr(resource, "blob", "") or ""
        return f"[embedded resource <{resource.uri}>{mime}, {_size(blob)}]", None
    return f"[{kind or 'unknown'} content]", None


_NOT_JSON = object()


def _decoded(text: str) -> Any:
    try:
        return safe_json.loads(text)
    except ValueError:
        return _NOT_JSON


def _carries(texts: list[str], structured: Any) -> bool:
    """Whether the text blocks already hold ``structured``, so it need not be added.

    A block holds it when it is the same JSON. An object of one field is also held by a block
    holding that field's value: the Python SDK wraps a plain return value as ``{"result": v}``
    and sends ``v`` as text; the filesystem server sends a file as text and as ``{"content": ...}``.
    """
    decoded = [_decoded(text) for text in texts]
    value = structured
    while True:
        for text, parsed in zip(texts, decoded, strict=True):
            if parsed == value or (isinstance(value, str) and text.strip() == value.strip()):
                return True
        if not (isinstance(value, dict) and len(value) == 1):
            return False
        value = next(iter(value.values()))


def outcome_from_result(result: types.CallToolResult) -> ToolOutcome:
    """Turn a tool result into the runtime's terms: its text, and its images and audio.

    Text blocks are kept; images, audio, resource links and binary resources are described in
    the text (never dumped), and images and audio are also kept as media for models that take
    them. Structured content is added as JSON text unless a text block already carries it (the
    SDK has checked it against the tool's output schema; see :func:`outcome_from_error`).
    """
    texts: list[str] = []
    plain: list[str] = []  # the text blocks
    media: list[MediaPart] = []
    for block in result.content:
        text, part = _block(block)
        texts.append(text)
        if part is not None:
            media.append(part)
        elif block.type == "text":
            plain.append(text)
    structured = result.structured_content
    if structured is not None and not _carries(plain, structured):
        texts.insert(0 if not plain else len(texts), _dumps(structured))
    text = "\n".join(texts) or "(the tool returned no content)"
    return ToolOutcome(text=text, is_error=bool(result.is_error), media=tuple(media))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def outcome_from_error(tool: str, exc: RuntimeError) -> ToolOutcome:
    """The error result for a ``RuntimeError`` from the SDK's ``call_tool``.

    The SDK checks a result's structured content against the tool's output schema (with
    jsonschema) and raises ``RuntimeError`` when it does not match, or when it is missing; the
    model is told so, with where the result went wrong.
    """
    from jsonschema import ValidationError

    cause = exc.__cause__
    if isinstance(cause, ValidationError):
        where = cause.json_path
        at = "" if where == "$" else f" at {where}"
        return ToolOutcome(f"Error calling tool '{tool}': {SCHEMA_MISMATCH}{at}: {cause.message}", True)
    if _NO_STRUCTURED in str(exc):
        return ToolOutcome(
            f"Error calling tool '{tool}': {SCHEMA_MISMATCH}: the tool declares an output schema "
            "but returned no structured result",
            True,
        )
    return ToolOutcome(f"Error calling tool '{tool}': {exc}", True)
