"""The tool policy's pure rules: allow/deny globs on tool names, and which tools need approval."""

from __future__ import annotations

import mcp_types as types
import pytest

from agent.errors import ConfigError
from agent.mcp.convert import tool_from_mcp
from agent.options import parse_options
from agent.policy import ServerRules, ToolPolicy, check_tool_glob
from agent.tools import ToolInfo

FS_DENY = ServerRules(deny=("write_*",))
ONLY_READS = ServerRules(allow=("read_*", "list_*"))


@pytest.mark.parametrize(
    ("policy", "server", "tool", "refusal"),
    [
        (ToolPolicy(), "fs", "write_file", None),
        (ToolPolicy(deny=("fs.*",)), "fs", "read_file", "--deny fs.* matches it"),
        (ToolPolicy(deny=("fs.*",)), "fsx", "read_file", None),
        (ToolPolicy(deny=("*.delete_*",)), "db", "delete_rows", "--deny *.delete_* matches it"),
        (ToolPolicy(deny=("*.delete_*",)), "db", "undelete", None),
        (ToolPolicy(deny=("fs.Write_file",)), "fs", "write_file", None),  # case-sensitive
        (ToolPolicy(deny=("127.0.0.1.*",)), "127.0.0.1", "echo", "--deny 127.0.0.1.* matches it"),
        (ToolPolicy(deny=("fx.files.*",)), "fx", "files.read-all", "--deny fx.files.* matches it"),
        (ToolPolicy(allow=("fs.read_*", "calc.*")), "calc", "evaluate", None),
        (
            ToolPolicy(allow=("fs.read_*", "calc.*")),
            "fs",
            "write_file",
            "--allow does not match it (fs.read_*, calc.*)",
        ),
        (
            ToolPolicy(allow=("fs.*",), deny=("fs.write_*",)),
            "fs",
            "write_file",
            "--deny fs.write_* matches it",
        ),
        (
            ToolPolicy(servers={"fs": FS_DENY}),
            "fs",
            "write_file",
            "mcpServers.fs.deny matches it (write_*)",
        ),
        (ToolPolicy(servers={"fs": FS_DENY}), "other", "write_file", None),
        (ToolPolicy(servers={"fs": ONLY_READS}), "fs", "list_directory", None),
        (
            ToolPolicy(servers={"fs": ONLY_READS}),
            "fs",
            "file_info",
            "mcpServers.fs.allow does not match it (read_*, list_*)",
        ),
        (
            ToolPolicy(servers={"fs": ServerRules(allow=())}),
            "fs",
            "read_file",
            "mcpServers.fs.allow does not match it (empty)",
        ),
        # both allowlists apply: the entry's and --allow
        (
            ToolPolicy(allow=("fs.list_*",), servers={"fs": ONLY_READS}),
            "fs",
            "read_file",
            "--allow does not match it (fs.list_*)",
        ),
        # an entry's deny wins over --allow
        (
            ToolPolicy(allow=("fs.*",), servers={"fs": FS_DENY}),
            "fs",
            "write_x",
            "mcpServers.fs.deny matches it (write_*)",
        ),
    ],
)
def test_deny_globs_refuse_and_allow_globs_are_an_allowlist(
    policy: ToolPolicy, server: str, tool: str, refusal: str | None
) -> None:
    assert policy.refusal(server, tool) == refusal


def tool(annotations: types.ToolAnnotations | None) -> ToolInfo:
    return tool_from_mcp("s", types.Tool(name="t", input_schema={"type": "object"}, annotations=annotations))


NONE = None
READ_ONLY = types.ToolAnnotations(read_only_hint=True)
READ_ONLY_SAYING_DESTRUCTIVE = types.ToolAnnotations(read_only_hint=True, destructive_hint=True)
NOT_READ_ONLY = types.ToolAnnotations(read_only_hint=False)
DESTRUCTIVE = types.ToolAnnotations(read_only_hint=False, destructive_hint=True)
ADDITIVE = types.ToolAnnotations(read_only_hint=False, destructive_hint=False)
ONLY_TITLE = types.ToolAnnotations(title="A tool")
DESTRUCTIVE_REASON = "it may change or delete data (not annotated read-only or non-destructive)"
STRICT_REASON = "it is not annotated read-only (--approval strict)"


@pytest.mark.parametrize(
    ("annotations", "destructive", "strict"),
    [
        # the spec's defaults: readOnlyHint false, destructiveHint true
        (NONE, DESTRUCTIVE_REASON, DESTRUCTIVE_REASON),
        (ONLY_TITLE, DESTRUCTIVE_REASON, DESTRUCTIVE_REASON),
        (NOT_READ_ONLY, DESTRUCTIVE_REASON, DESTRUCTIVE_REASON),
        (DESTRUCTIVE, DESTRUCTIVE_REASON, DESTRUCTIVE_REASON),
        (ADDITIVE, None, STRICT_REASON),
        (READ_ONLY, None, None),
        (READ_ONLY_SAYING_DESTRUCTIVE, None, None),  # destructiveHint means nothing when read-only
    ],
)
def test_approval_follows_the_spec_defaults_of_tool_annotations(
    annotations: types.ToolAnnotations | None, destructive: str | None, strict: str | None
) -> None:
    info = tool(annotations)
    assert ToolPolicy(approval="destructive").needs_approval(info) == destructive
    assert ToolPolicy(approval="strict").needs_approval(info) == strict
    assert ToolPolicy(approval="off").needs_approval(info) is None


def test_a_tool_keeps_the_hints_its_server_sent_for_whoever_approves_it() -> None:
    assert tool(ADDITIVE).annotations == {"read_only_hint": False, "destructive_hint": False}
    assert tool(ONLY_TITLE).annotations == {}
    assert tool(NONE).annotations == {}


def test_a_policy_with_no_rules_and_approval_off_is_open() -> None:
    assert ToolPolicy(approval="off").open
    assert not ToolPolicy().open
    assert not ToolPolicy(approval="off", deny=("a.b",)).open
    assert not ToolPolicy(approval="off", servers={"fs": FS_DENY}).open


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("fs.*", None),
        ("*.delete_*", None),
        ("*.*", None),
        ("write_file", "expected a SERVER.TOOL glob such as fs.* or *.write_file"),
        ("", "expected a non-empty glob"),
        ("fs.\x1b[2J", "expected a glob of printable characters, at most 300"),
    ],
)
def test_tool_globs_must_name_a_server_part(pattern: str, problem: str | None) -> None:
    if problem is None:
        assert check_tool_glob(pattern) == pattern
    else:
        with pytest.raises(ValueError, match=problem.replace("*", r"\*").replace(".", r"\.")):
            check_tool_glob(pattern)


@pytest.mark.parametrize(
    ("values", "as_flags", "message"),
    [
        ({"deny": ["fs"]}, True, "--deny: expected a SERVER.TOOL glob such as fs.* or *.fs, got 'fs'"),
        (
            {"allow": ["calc.*", "x"]},
            False,
            "allow: expected a SERVER.TOOL glob such as fs.* or *.x, got 'x'",
        ),
        ({"approval": "always"}, True, "--approval: expected 'destructive', 'strict' or 'off', got 'always'"),
    ],
)
def test_wrong_policy_options_are_one_line_naming_the_flag(
    values: dict[str, object], as_flags: bool, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options(values, as_flags=as_flags)
    assert str(caught.value) == message


def test_policy_options_default_to_asking_before_destructive_tools() -> None:
    options = parse_options({})
    assert (options.allow, options.deny, options.approval, options.yes, options.approve_with) == (
        [],
        [],
        "destructive",
        False,
        None,
    )
