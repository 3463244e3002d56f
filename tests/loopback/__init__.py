"""A loopback HTTP server that speaks OpenRouter's chat API from a script, for end-to-end tests.

Usage::

    with ScriptedOpenRouter(reply(None, call("fs_read", {"path": "a.txt"})),
                            lambda req: reply(f"It says: {last_tool_result(req)}")) as server:
        env = {"OPENROUTER_BASE_URL": server.base_url}
        ...
    server.assert_clean()
"""

from tests.loopback.catalog import catalog_model
from tests.loopback.endpoints import endpoint
from tests.loopback.history import check_request
from tests.loopback.key import key_info
from tests.loopback.records import RecordedRequest, Route, Violation
from tests.loopback.request_schema import check_shape
from tests.loopback.server import ScriptedOpenRouter
from tests.loopback.steps import (
    Call,
    Delayed,
    ErrorReply,
    Reply,
    Step,
    StreamFault,
    UsageReport,
    availability_error,
    call,
    credits_error,
    delayed,
    drop,
    error,
    error_chunk,
    last_tool_result,
    last_user_text,
    rate_limit_error,
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
    "availability_error",
    "call",
    "catalog_model",
    "check_request",
    "check_shape",
    "credits_error",
    "delayed",
    "drop",
    "endpoint",
    "error",
    "error_chunk",
    "key_info",
    "last_tool_result",
    "last_user_text",
    "rate_limit_error",
    "raw_error",
    "reply",
    "stall",
]
