"""Property-based tests of fs path handling: whatever path a model sends, nothing outside the roots.

The tree holds symlinks that stay inside, lead outside, dangle and loop; paths are built from
``..``, absolute prefixes, NULs, unencodable and non-ASCII text, and long or deep strings.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from servers import fs_ops
from servers.fs_edit import TextEdit
from servers.sandbox import Sandbox, SandboxError

NAMES = [
    "..",
    ".",
    "",
    "a.txt",
    "sub",
    "b.txt",
    "link_in",
    "link_out",
    "file_out",
    "loop",
    "dangling_in",
    "dangling_out",
    "missing",
    "~",
    "\0",
    "é",
    "\udcff",
    "\ud800",
    "x" * 300,
]
PREFIXES = ["", "./", "/", "{root}/", "{outside}/", "{root}/../outside/", "~/", "//"]

segments = st.one_of(st.sampled_from(NAMES), st.text(max_size=6))
joined = st.lists(segments, max_size=10).map("/".join)
paths = st.one_of(
    st.tuples(st.sampled_from(PREFIXES), joined).map("".join),
    st.text(max_size=40),
    st.integers(min_value=60, max_value=1200).map(lambda depth: "d/" * depth),
    st.integers(min_value=4000, max_value=5000).map(lambda length: "y" * length),
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``root`` with links in, out, dangling and looping; ``outside`` next to it holds a secret."""
    base = Path(os.path.realpath(tmp_path_factory.mktemp("paths")))
    root, outside = base / "root", base / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.txt").write_text("beta\n")
    (outside / "secret.txt").write_text("secret\n")
    (root / "link_in").symlink_to(root / "sub")
    (root / "link_out").symlink_to(outside)
    (root / "file_out").symlink_to(outside / "secret.txt")
    (root / "loop").symlink_to(root / "loop")
    (root / "dangling_in").symlink_to(root / "missing")
    (root / "dangling_out").symlink_to(outside / "missing")
    return root


def _concrete(path: str, root: Path) -> str:
    return path.replace("{root}", str(root)).replace("{outside}", str(root.parent / "outside"))


def _outside(root: Path) -> list[str]:
    return sorted(os.listdir(root.parent / "outside"))


@given(path=paths)
def test_the_sandbox_resolves_any_path_inside_the_roots_or_refuses_it_with_its_own_error(
    tree: Path, path: str
) -> None:
    sandbox = Sandbox([tree])
    try:
        resolved = sandbox.resolve(_concrete(path, tree))
    except SandboxError:
        return
    assert resolved.is_absolute()
    assert ".." not in resolved.parts
    assert sandbox.contains(resolved)
    assert sandbox.contains(Path(os.path.realpath(resolved)))


@given(path=paths)
def test_file_operations_on_any_path_stay_inside_the_roots_and_fail_only_with_caller_errors(
    tree: Path, path: str
) -> None:
    sandbox = Sandbox([tree])
    concrete = _concrete(path, tree)
    operations = [
        lambda: fs_ops.read_file(sandbox, concrete),
        lambda: fs_ops.list_directory(sandbox, concrete),
        lambda: fs_ops.file_info(sandbox, concrete),
        lambda: fs_ops.write_file(sandbox, concrete, "written\n"),
        lambda: fs_ops.edit_file(sandbox, concrete, [TextEdit("written", "edited")]),
        lambda: fs_ops.search_files(sandbox, "*", concrete, content="secret"),
    ]
    answers = []
    for operation in operations:
        try:
            answers.append(operation())
        except (OSError, ValueError):
            continue
    assert _outside(tree) == ["secret.txt"]
    assert (tree.parent / "outside" / "secret.txt").read_text() == "secret\n"
    assert [answer for answer in answers if "secret\n" in answer or "secret.txt:1" in answer] == []
