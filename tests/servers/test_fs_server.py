from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.types import ToolAnnotations

from servers import fs_regex
from servers.fs import build_server
from servers.fs_errors import tool_errors
from servers.fs_lines import MAX_LINE_CHARS
from servers.fs_ops import MAX_READ_BYTES
from servers.sandbox import Sandbox
from tests.servers.helpers import call

pytestmark = pytest.mark.anyio

READ_TOOLS = ["list_allowed_directories", "list_directory", "read_file", "search_files", "file_info"]


def _denied(tool: str, path: str, root: Path) -> tuple[bool, str]:
    return True, (
        f"Error executing tool {tool}: Access denied: {path} is outside the allowed directories ({root})"
    )


async def test_read_write_server_lists_all_tools_with_hints(tree: Path) -> None:
    async with Client(build_server([tree], allow_writes=True)) as client:
        tools = {tool.name: tool.annotations for tool in (await client.list_tools()).tools}
    read = ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    assert tools == {
        **dict.fromkeys(READ_TOOLS, read),
        "write_file": ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
        ),
        "edit_file": ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=False
        ),
    }


async def test_edit_file_schema_is_inline_without_refs(tree: Path) -> None:
    async with Client(build_server([tree], allow_writes=True)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    schema = tools["edit_file"].input_schema
    assert ("$defs" in schema, schema["properties"]["edits"]["items"]["required"]) == (
        False,
        ["old_text", "new_text"],
    )


async def test_server_without_allow_writes_has_no_write_tools_and_refuses_them(tree: Path) -> None:
    async with Client(build_server([tree])) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
        write = await call(client, "write_file", {"path": "x.txt", "content": "x"})
        edit = await call(
            client, "edit_file", {"path": "a.txt", "edits": [{"old_text": "a", "new_text": "b"}]}
        )
    assert (names, write, edit) == (
        READ_TOOLS,
        (True, "Unknown tool: write_file"),
        (True, "Unknown tool: edit_file"),
    )
    assert not (tree / "x.txt").exists()


async def test_list_allowed_directories_and_list_directory_show_types_sizes_and_links_without_targets(
    tree: Path,
) -> None:
    async with Client(build_server([tree], allow_writes=True)) as client:
        allowed = await call(client, "list_allowed_directories")
        listing = await call(client, "list_directory", {})
        sub = await call(client, "list_directory", {"path": "link_in"})
    assert (allowed, listing, sub) == (
        (False, str(tree)),
        (
            False,
            "[dir]  .hidden/\n[dir]  sub/\n[file] a.txt (11 bytes)\n"
            "[link] file_out\n[link] link_in\n[link] link_out",
        ),
        (False, "[dir]  deep/\n[file] b.txt (5 bytes)"),
    )


async def test_read_file_returns_whole_text_or_a_window_of_lines(tree: Path) -> None:
    (tree / "lines.txt").write_text("".join(f"line {n}\n" for n in range(1, 6)))
    async with Client(build_server([tree], allow_writes=True)) as client:
        results = [
            await call(client, "read_file", {"path": "a.txt"}),
            await call(client, "read_file", {"path": "lines.txt", "offset": 2, "limit": 2}),
            await call(client, "read_file", {"path": "lines.txt", "offset": 4}),
            await call(client, "read_file", {"path": "lines.txt", "offset": 9}),
        ]
    assert results == [
        (False, "alpha\nbeta\n"),
        (False, "line 2\nline 3\n[lines 2-3 shown; more follow: pass offset=4 to continue]"),
        (False, "line 4\nline 5\n"),
        (True, "Error executing tool read_file: offset 9 is past the end of lines.txt (5 lines)"),
    ]


async def test_read_file_refuses_binary_undecodable_huge_and_missing_files(tree: Path) -> None:
    (tree / "blob.bin").write_bytes(b"\x89PNG\0\0\0")
    (tree / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tree / "big.txt").write_text(("y" * 99 + "\n") * (MAX_READ_BYTES // 100 + 1))
    size = (tree / "big.txt").stat().st_size
    async with Client(build_server([tree], allow_writes=True)) as client:
        results = [
            await call(client, "read_file", {"path": "blob.bin"}),
            await call(client, "read_file", {"path": "latin1.txt"}),
            await call(client, "read_file", {"path": "big.txt"}),
            await call(client, "read_file", {"path": "big.txt", "offset": 3, "limit": 1}),
            await call(client, "read_file", {"path": "nope.txt"}),
            await call(client, "read_file", {"path": "sub"}),
        ]
    prefix = "Error executing tool read_file: "
    assert results == [
        (True, prefix + "blob.bin is a binary file (7 bytes); only text files can be read"),
        (True, prefix + "latin1.txt is not UTF-8 text"),
        (
            True,
            prefix + f"big.txt is {size} bytes, over the {MAX_READ_BYTES}-byte limit for a whole-file read; "
            "pass offset and limit to read it in parts",
        ),
        (False, "y" * 99 + "\n[line 3 shown; more follow: pass offset=4 to continue]"),
        (True, prefix + "nope.txt: no such file or directory"),
        (True, prefix + "sub is a directory"),
    ]


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("read_file", {"path": "../outside/secret.txt"}),
        ("read_file", {"path": "link_out/secret.txt"}),
        ("read_file", {"path": "file_out"}),
        ("read_file", {"path": "{outside}/secret.txt"}),
        ("list_directory", {"path": "link_out"}),
        ("list_directory", {"path": ".."}),
        ("file_info", {"path": "file_out"}),
        ("search_files", {"pattern": "*", "path": "../outside"}),
        ("write_file", {"path": "../outside/new.txt", "content": "x"}),
        ("write_file", {"path": "link_out/new.txt", "content": "x"}),
        ("edit_file", {"path": "file_out", "edits": [{"old_text": "secret", "new_text": "leaked"}]}),
    ],
)
async def test_every_tool_refuses_paths_that_escape_the_root(
    tree: Path, tool: str, arguments: dict[str, object]
) -> None:
    outside = tree.parent / "outside"
    path = str(arguments["path"]).format(outside=outside)
    arguments = {**arguments, "path": path}
    async with Client(build_server([tree], allow_writes=True)) as client:
        result = await call(client, tool, arguments)
    assert result == _denied(tool, path, tree)
    assert sorted(path.name for path in outside.iterdir()) == ["secret.txt"]
    assert (outside / "secret.txt").read_text() == "secret\n"


async def test_search_files_matches_names_paths_and_content_and_skips_escaping_links(tree: Path) -> None:
    (tree / "escape.txt").symlink_to(tree.parent / "outside" / "secret.txt")
    async with Client(build_server([tree], allow_writes=True)) as client:
        results = [
            await call(client, "search_files", {"pattern": "*.txt"}),
            await call(client, "search_files", {"pattern": "sub/**/*.py"}),
            await call(client, "search_files", {"pattern": "*.txt", "include_hidden": True}),
            await call(client, "search_files", {"pattern": "*", "content": "beta"}),
            await call(client, "search_files", {"pattern": "*", "content": r"^al\w+$", "regex": True}),
            await call(client, "search_files", {"pattern": "*", "content": "(", "regex": True}),
            await call(client, "search_files", {"pattern": "*.md"}),
            await call(client, "search_files", {"pattern": "*", "max_results": 2}),
            await call(client, "search_files", {"pattern": "*.txt", "path": "a.txt"}),
        ]
    assert results == [
        (False, "a.txt\nsub/b.txt"),
        (False, "sub/deep/c.py"),
        (False, "a.txt\n.hidden/h.txt\nsub/b.txt"),
        (False, "a.txt:2: beta\nsub/b.txt:1: beta\nsub/deep/c.py:1: print('beta')"),
        (False, "a.txt:1: alpha"),
        (
            True,
            "Error executing tool search_files: invalid regular expression '(': "
            "missing ), unterminated subpattern at position 0",
        ),
        (False, "No matches for '*.md' under ."),
        (False, "a.txt\nlink_in\n[stopped at 2 results; narrow the pattern or the directory]"),
        (True, "Error executing tool search_files: a.txt is not a directory"),
    ]


async def test_file_info_reports_type_size_times_and_permissions(tree: Path) -> None:
    os.utime(tree / "a.txt", (1_700_000_000, 1_700_000_000))
    (tree / "a.txt").chmod(0o640)
    async with Client(build_server([tree], allow_writes=True)) as client:
        file = await call(client, "file_info", {"path": "a.txt"})
        directory = await call(client, "file_info", {"path": "sub"})
    assert file == (
        False,
        f"path: a.txt\nabsolute_path: {tree / 'a.txt'}\ntype: file\nsize: 11 bytes\n"
        "modified: 2023-11-14T22:13:20+00:00\naccessed: 2023-11-14T22:13:20+00:00\n"
        "permissions: -rw-r----- (640)",
    )
    assert directory[1].splitlines()[:3] + directory[1].splitlines()[-1:] == [
        "path: sub",
        f"absolute_path: {tree / 'sub'}",
        "type: directory",
        "entries: 2",
    ]


async def test_write_file_creates_parents_and_replaces_existing_content(tree: Path) -> None:
    async with Client(build_server([tree], allow_writes=True)) as client:
        created = await call(client, "write_file", {"path": "new/deeper/n.txt", "content": "héllo\r\n"})
        replaced = await call(client, "write_file", {"path": "a.txt", "content": "gamma\n"})
        into_dir = await call(client, "write_file", {"path": "sub", "content": "x"})
    assert (created, replaced, into_dir) == (
        (False, "Created new/deeper/n.txt (8 bytes)"),
        (False, "Replaced a.txt (6 bytes)"),
        (True, "Error executing tool write_file: sub is a directory"),
    )
    assert ((tree / "new/deeper/n.txt").read_bytes(), (tree / "a.txt").read_text()) == (
        "héllo\r\n".encode(),
        "gamma\n",
    )


async def test_edit_file_dry_run_shows_a_diff_and_writes_nothing(tree: Path) -> None:
    async with Client(build_server([tree], allow_writes=True)) as client:
        result = await call(
            client,
            "edit_file",
            {"path": "a.txt", "edits": [{"old_text": "beta", "new_text": "BETA"}], "dry_run": True},
        )
    assert result == (
        False,
        "Dry run, nothing written. Diff of a.txt:\n"
        "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n alpha\n-beta\n+BETA\n",
    )
    assert (tree / "a.txt").read_text() == "alpha\nbeta\n"


async def test_edit_file_applies_all_edits_or_none(tree: Path) -> None:
    (tree / "code.py").write_text("x = 1\ny = 1\n")
    async with Client(build_server([tree], allow_writes=True)) as client:
        ambiguous = await call(
            client,
            "edit_file",
            {
                "path": "code.py",
                "edits": [{"old_text": "x = 1", "new_text": "x = 2"}, {"old_text": " = ", "new_text": "="}],
            },
        )
        after_failure = (tree / "code.py").read_text()
        applied = await call(
            client,
            "edit_file",
            {
                "path": "code.py",
                "edits": [
                    {"old_text": "x = 1", "new_text": "x = 2"},
                    {"old_text": "y = 1", "new_text": "y = 3"},
                ],
            },
        )
        unchanged = await call(
            client, "edit_file", {"path": "code.py", "edits": [{"old_text": "x", "new_text": "x"}]}
        )
    assert (ambiguous, after_failure) == (
        (
            True,
            "Error executing tool edit_file: edit 2: old_text matches 2 places; "
            "include more surrounding text to make it unique",
        ),
        "x = 1\ny = 1\n",
    )
    assert applied == (
        False,
        "Applied 2 edit(s) to code.py:\n"
        "--- a/code.py\n+++ b/code.py\n@@ -1,2 +1,2 @@\n-x = 1\n-y = 1\n+x = 2\n+y = 3\n",
    )
    assert unchanged == (False, "No changes: the edits leave code.py as it was")
    assert (tree / "code.py").read_text() == "x = 2\ny = 3\n"


@pytest.fixture
def swap_after_check(tree: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make every path check replace ``sub`` by a link to ``outside`` right after it passes."""
    original = Sandbox.resolve
    sub, parked = tree / "sub", tree / "sub-parked"

    def resolve(self: Sandbox, path: str) -> Path:
        real = original(self, path)
        if not sub.is_symlink():
            sub.rename(parked)
            sub.symlink_to(tree.parent / "outside")
        return real

    monkeypatch.setattr(Sandbox, "resolve", resolve)
    return parked


def _unswap(tree: Path, parked: Path) -> None:
    (tree / "sub").unlink()
    parked.rename(tree / "sub")


@pytest.mark.parametrize(
    ("tool", "arguments", "shown"),
    [
        ("write_file", {"path": "sub/new.txt", "content": "x"}, "sub/new.txt"),
        ("write_file", {"path": "sub/deeper/new.txt", "content": "x"}, "sub/deeper/new.txt"),
        ("write_file", {"path": "sub/secret.txt", "content": "x"}, "sub/secret.txt"),
        ("read_file", {"path": "sub/secret.txt"}, "sub/secret.txt"),
        ("edit_file", {"path": "sub/b.txt", "edits": [{"old_text": "beta", "new_text": "x"}]}, "sub/b.txt"),
        ("list_directory", {"path": "sub"}, "sub"),
        ("file_info", {"path": "sub/b.txt"}, "sub/b.txt"),
        ("search_files", {"pattern": "*", "path": "sub"}, "sub"),
    ],
)
async def test_a_directory_swapped_for_an_outside_link_after_the_check_is_refused_not_followed(
    tree: Path, swap_after_check: Path, tool: str, arguments: dict[str, object], shown: str
) -> None:
    (tree / "sub" / "secret.txt").write_text("inside\n")
    async with Client(build_server([tree], allow_writes=True)) as client:
        result = await call(client, tool, arguments)
    _unswap(tree, swap_after_check)
    assert result == (
        True,
        f"Error executing tool {tool}: Access denied: {shown} changed during the call "
        "(a symbolic link appeared on the way); links are not followed while reading or writing",
    )
    assert sorted(os.listdir(tree.parent / "outside")) == ["secret.txt"]
    assert (tree.parent / "outside" / "secret.txt").read_text() == "secret\n"


async def test_read_file_cuts_very_long_lines_and_names_a_single_line_range(tree: Path) -> None:
    (tree / "long.txt").write_text("short\n" + "x" * 5000 + "\r\nend", newline="")
    cut = "x" * MAX_LINE_CHARS + " [line truncated: 5000 characters]\r\n"
    async with Client(build_server([tree], allow_writes=True)) as client:
        whole = await call(client, "read_file", {"path": "long.txt"})
        middle = await call(client, "read_file", {"path": "long.txt", "offset": 2, "limit": 1})
        last = await call(client, "read_file", {"path": "long.txt", "offset": 3})
    assert (whole, middle, last) == (
        (False, "short\n" + cut + "end"),
        (False, cut + "[line 2 shown; more follow: pass offset=3 to continue]"),
        (False, "end"),
    )


async def test_write_file_replaces_atomically_keeping_permissions_and_no_temporary_file(tree: Path) -> None:
    (tree / "a.txt").chmod(0o600)
    async with Client(build_server([tree], allow_writes=True)) as client:
        replaced = await call(client, "write_file", {"path": "a.txt", "content": "new\n"})
        edited = await call(
            client, "edit_file", {"path": "a.txt", "edits": [{"old_text": "new", "new_text": "newer"}]}
        )
    assert (replaced[0], edited[0]) == (False, False)
    assert ((tree / "a.txt").read_text(), (tree / "a.txt").stat().st_mode & 0o777) == ("newer\n", 0o600)
    assert sorted(os.listdir(tree)) == [".hidden", "a.txt", "file_out", "link_in", "link_out", "sub"]


async def test_a_regex_that_runs_past_its_budget_is_stopped_with_one_line(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fs_regex, "REGEX_SECONDS", 0.5)
    (tree / "victim.txt").write_text("a" * 64 + "\n")
    async with Client(build_server([tree], allow_writes=True)) as client:
        with anyio.fail_after(30):
            stopped = await call(
                client, "search_files", {"pattern": "victim.txt", "content": "(a*)*b", "regex": True}
            )
    assert stopped == (
        True,
        "Error executing tool search_files: regex search took longer than 0.5 s; simplify the pattern",
    )


def test_any_exception_in_a_tool_becomes_one_line_and_only_unexpected_ones_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mcp.server.mcpserver.exceptions import ToolError

    def deep(path: str) -> str:
        return deep(path)

    def missing(path: str) -> str:
        raise FileNotFoundError(2, "No such file or directory")

    messages = []
    for tool in (deep, missing):
        with pytest.raises(ToolError) as caught:
            tool_errors(tool)(path="d/" * 3)
        messages.append(str(caught.value))
    assert messages == [
        "d/d/d/: unexpected RecursionError: maximum recursion depth exceeded",
        "d/d/d/: no such file or directory",
    ]
    assert [record.getMessage() for record in caplog.records] == [
        "tool deep failed unexpectedly: RecursionError"
    ]
