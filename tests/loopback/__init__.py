"""A loopback HTTP server that speaks OpenRouter's chat API from a script, for end-to-end tests.

Usage::

    with ScriptedOpenRouter(reply(None, call("fs_read", {"path": "a.txt"})),
                            lambda req: reply(f"It says: {last_tool_result(req)}")) as server:
        env = {"OPENROUTER_BASE_URL": server.base_url}
        ...
    server.assert_clean()
"""

from tests.loopback.catalog import catalog_model
from tests.loopback.history import check_request
from tests.loopback.key import key_info
from tests.loopback.records import RecordedRequest, Route, Violation
from tests.loopback.server import ScriptedOpenRouter
from tests.loopback.steps import (
    Call,
    Delayed,
    ErrorReply,
    Reply,
    Step,
    StreamFault,
    UsageReport,
    call,
    delayed,
    drop,
    error,
    error_chunk,
    last_tool_result,
    last_user_text,
    raw_error,
    reply,
    stall,
)

__all__ = [
    "Call",
    "Delayed",
    "ErrorReply",
    "RecordedRequest",
    "Reply",
    "Route",
    "ScriptedOpenRouter",
    "Step",
    "StreamFault",
    "UsageReport",
    "Violation",
    "call",
    "catalog_model",
    "check_request",
    "delayed",
    "drop",
    "error",
    "error_chunk",
    "key_info",
    "last_tool_result",
    "last_user_text",
    "raw_error",
    "reply",
    "stall",
]
