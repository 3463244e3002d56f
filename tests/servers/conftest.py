"""Fixtures shared by the bundled-server tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A sandbox root with files, a symlink that stays inside and two that escape.

    Layout (``outside`` is a sibling of ``root``)::

        root/a.txt            "alpha\\nbeta\\n"
        root/sub/b.txt        "beta\\n"
        root/sub/deep/c.py    "print('beta')\\n"
        root/.hidden/h.txt    "beta\\n"
        root/link_in   -> root/sub
        root/link_out  -> outside
        root/file_out  -> outside/secret.txt
        outside/secret.txt    "secret\\n"
    """
    base = Path(os.path.realpath(tmp_path))
    root, outside = base / "root", base / "outside"
    (root / "sub" / "deep").mkdir(parents=True)
    (root / ".hidden").mkdir()
    outside.mkdir()
    (root / "a.txt").write_text("alpha\nbeta\n")
    (root / "sub" / "b.txt").write_text("beta\n")
    (root / "sub" / "deep" / "c.py").write_text("print('beta')\n")
    (root / ".hidden" / "h.txt").write_text("beta\n")
    (outside / "secret.txt").write_text("secret\n")
    (root / "link_in").symlink_to(root / "sub")
    (root / "link_out").symlink_to(outside)
    (root / "file_out").symlink_to(outside / "secret.txt")
    return root
