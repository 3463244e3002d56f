from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers.fs_edit import EditError, TextEdit, apply_edits, unified_diff
from servers.fs_glob import Glob
from servers.fs_search import iter_matches
from servers.sandbox import MAX_PATH_CHARS, MAX_PATH_DEPTH, AccessDeniedError, InvalidPathError, Sandbox

ALLOWED = [
    ("a.txt", "a.txt"),
    ("./a.txt", "a.txt"),
    ("", "."),
    (".", "."),
    ("sub/../a.txt", "a.txt"),
    ("sub/deep/../b.txt", "sub/b.txt"),
    ("link_in/b.txt", "sub/b.txt"),
    ("new/dir/file.txt", "new/dir/file.txt"),
    ("{root}/sub/b.txt", "sub/b.txt"),
    ("{root}", "."),
]

DENIED = [
    "..",
    "../outside/secret.txt",
    "sub/../../outside/secret.txt",
    "{outside}/secret.txt",
    "{root}x/file.txt",
    "/",
    "/etc/passwd",
    "link_out/secret.txt",
    "link_out/new.txt",
    "file_out",
    "link_out",
]


@pytest.mark.parametrize(("given", "inside"), ALLOWED)
def test_paths_inside_the_root_resolve_to_real_paths(tree: Path, given: str, inside: str) -> None:
    sandbox = Sandbox([tree])
    resolved = sandbox.resolve(given.format(root=tree))
    assert (resolved, sandbox.display(resolved)) == ((tree / inside).resolve(), inside)


@pytest.mark.parametrize("given", DENIED)
def test_traversal_absolute_paths_and_escaping_symlinks_are_denied(tree: Path, given: str) -> None:
    path = given.format(root=tree, outside=tree.parent / "outside")
    with pytest.raises(AccessDeniedError) as caught:
        Sandbox([tree]).resolve(path)
    assert str(caught.value) == f"Access denied: {path} is outside the allowed directories ({tree})"


def test_every_root_is_allowed_and_relative_paths_start_at_the_first(tree: Path) -> None:
    outside = tree.parent / "outside"
    sandbox = Sandbox([tree, outside])
    assert [
        sandbox.resolve("a.txt"),
        sandbox.resolve(str(outside / "secret.txt")),
        sandbox.resolve("link_out/secret.txt"),
        sandbox.display(outside / "secret.txt"),
    ] == [tree / "a.txt", outside / "secret.txt", outside / "secret.txt", str(outside / "secret.txt")]


def test_a_root_given_through_a_symlink_accepts_paths_spelled_either_way(tree: Path) -> None:
    alias = tree.parent / "alias"
    alias.symlink_to(tree)
    sandbox = Sandbox([alias])
    assert (sandbox.roots, sandbox.resolve(f"{alias}/a.txt"), sandbox.resolve(f"{tree}/a.txt")) == (
        (tree,),
        tree / "a.txt",
        tree / "a.txt",
    )


def test_no_roots_means_the_current_directory(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    assert Sandbox([]).roots == (tree,)


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ("missing", "allowed directory '{path}' does not exist"),
        ("a.txt", "allowed directory '{path}' is not a directory"),
    ],
)
def test_a_root_that_is_not_a_directory_is_rejected(tree: Path, root: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message.format(path=tree / root))):
        Sandbox([tree / root])


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.py", "c.py", True),
        ("*.py", "c.pyc", False),
        ("?.py", "c.py", True),
        ("?.py", "cc.py", False),
        ("[abc].txt", "b.txt", True),
        ("[!abc].txt", "b.txt", False),
        ("src/*.py", "src/x.py", True),
        ("src/*.py", "src/deep/x.py", False),
        ("src/**/*.py", "src/x.py", True),
        ("src/**/*.py", "src/a/b/x.py", True),
        ("**/*.py", "x.py", True),
        ("**/*.py", "a/x.py", True),
        ("**", "a/b/c", True),
        ("./sub/", "sub", True),
        ("a+b(1).txt", "a+b(1).txt", True),
        ("a+b(1).txt", "aab1.txt", False),
        ("[a-c]x", "bx", True),
        ("[a-c]x", "dx", False),
        ("[]]x", "]x", True),
        ("[unclosed", "[unclosed", True),
        ("src/**", "src/a/b", True),
        ("src/**", "src", False),
        ("a/**/b/**/c", "a/b/c", True),
        ("a/**/b/**/c", "a/x/b/y/z/c", True),
        ("a/**/b/**/c", "a/x/c", False),
        ("*.py", "dir/c.py", False),
        ("*a*a*a*a*a*a*a*a*a*a*a*a*c", "a" * 30, False),
        ("*a*a*a*a*a*a*a*a*a*a*a*a*c", "a" * 30 + "c", True),
    ],
)
def test_glob_patterns_match_relative_posix_paths(pattern: str, path: str, matches: bool) -> None:
    assert Glob(pattern).match(path) is matches


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "the glob pattern is empty"),
        ("../*", "the glob pattern '../*' may not contain '..'"),
        ("*" * 513, "the glob pattern is over 512 characters"),
    ],
)
def test_glob_patterns_that_are_empty_too_long_or_climb_out_are_rejected(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Glob(pattern)


@pytest.fixture
def tree_fd(tree: Path) -> Iterator[int]:
    fd = os.open(tree, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


def test_search_walk_matches_names_at_any_depth_and_never_enters_symlinked_directories(tree_fd: int) -> None:
    found = list(iter_matches(tree_fd, "*.txt"))
    with_hidden = list(iter_matches(tree_fd, "*.txt", include_hidden=True))
    assert (found, with_hidden) == (["a.txt", "sub/b.txt"], ["a.txt", ".hidden/h.txt", "sub/b.txt"])


def test_search_walk_lists_fifos_without_opening_them(tree: Path, tree_fd: int) -> None:
    os.mkfifo(tree / "sub" / "pipe.txt")
    assert list(iter_matches(tree_fd, "*.txt")) == ["a.txt", "sub/b.txt", "sub/pipe.txt"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("a\0b", "path 'a\\x00b' contains a NUL character"),
        ("\ud800", "path '\\ud800' cannot be encoded for this filesystem"),
        ("x" * (MAX_PATH_CHARS + 1), f"path is {MAX_PATH_CHARS + 1} characters long, over the limit of 4096"),
        ("d/" * (MAX_PATH_DEPTH + 1), f"path is {MAX_PATH_DEPTH + 1} levels deep, over the limit of 64"),
    ],
)
def test_paths_with_nul_unencodable_too_long_or_too_deep_are_invalid(
    tree: Path, path: str, message: str
) -> None:
    with pytest.raises(InvalidPathError) as caught:
        Sandbox([tree]).resolve(path)
    assert str(caught.value) == message


def test_a_path_at_the_depth_limit_is_allowed(tree: Path) -> None:
    path = "/".join(["d"] * MAX_PATH_DEPTH)
    assert Sandbox([tree]).resolve(path) == tree / path


@pytest.mark.parametrize(
    ("text", "edits", "expected"),
    [
        ("a = 1\nb = 2\n", [TextEdit("a = 1", "a = 10")], "a = 10\nb = 2\n"),
        ("x\ny\n", [TextEdit("x", "y"), TextEdit("y\ny", "z")], "z\n"),
        ("one\r\ntwo\r\n", [TextEdit("one\ntwo", "1\n2")], "1\r\n2\r\n"),
        ("keep", [TextEdit("keep", "keep")], "keep"),
        ("remove me please", [TextEdit(" me", "")], "remove please"),
    ],
)
def test_edits_apply_in_order_and_keep_crlf_line_endings(
    text: str, edits: list[TextEdit], expected: str
) -> None:
    assert apply_edits(text, edits) == expected


@pytest.mark.parametrize(
    ("text", "edits", "message"),
    [
        ("abc", [], "no edits given"),
        ("abc", [TextEdit("", "x")], "edit 1: old_text is empty"),
        ("abc", [TextEdit("a", "b"), TextEdit("zzz", "y")], "edit 2: old_text was not found"),
        (
            "x x",
            [TextEdit("x", "y")],
            "edit 1: old_text matches 2 places; include more surrounding text to make it unique",
        ),
    ],
)
def test_an_edit_that_does_not_match_exactly_once_is_refused(
    text: str, edits: list[TextEdit], message: str
) -> None:
    with pytest.raises(EditError, match=re.escape(message)):
        apply_edits(text, edits)


def test_unified_diff_labels_files_like_git_and_marks_a_missing_final_newline() -> None:
    assert unified_diff("a\nb", "a\nc", "f.txt") == (
        "--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n"
        "+c\n\\ No newline at end of file\n"
    )
