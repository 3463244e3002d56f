from __future__ import annotations

import subprocess
import sys

import pytest

import agent


def test_every_public_name_resolves_and_the_list_is_sorted() -> None:
    names = [n for n in agent.__all__ if n != "__version__"]
    assert names == sorted(names)
    for name in agent.__all__:
        assert getattr(agent, name) is not None, name


def test_importing_agent_does_not_load_httpx_or_the_mcp_sdk() -> None:
    code = "import sys, agent; print(sorted(m for m in ('httpx', 'mcp', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = agent.NoSuchThing  # type: ignore[attr-defined]
