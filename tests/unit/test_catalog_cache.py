from __future__ import annotations

from pathlib import Path

import pytest

from agent.cache import endpoint_key, user_cache_dir, write_atomically


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"AGENT_CACHE_DIR": "/var/agent-cache", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/var/agent-cache"),
        ({"AGENT_CACHE_DIR": "", "XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/agent"),
        ({"XDG_CACHE_HOME": "/x", "HOME": "/h"}, "/x/agent"),
        ({"HOME": "/h"}, "/h/.cache/agent"),
        ({"AGENT_CACHE_DIR": "relative/cache"}, "/work/dir/relative/cache"),
    ],
)
def test_user_cache_dir_prefers_agent_cache_dir_then_xdg_then_home(
    env: dict[str, str], expected: str
) -> None:
    assert user_cache_dir(env, Path("/work/dir")) == Path(expected)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/v1/", True),
        ("https://openrouter.ai/api/v1", " https://openrouter.ai/api/v1 ", True),
        ("https://openrouter.ai/api/v1", "http://127.0.0.1:8080/v1", False),
        ("https://openrouter.ai/api/v1", "https://openrouter.ai/api/v2", False),
    ],
)
def test_endpoint_key_ignores_trailing_slashes_and_separates_endpoints(a: str, b: str, same: bool) -> None:
    assert (endpoint_key(a) == endpoint_key(b)) is same
    assert len(endpoint_key(a)) == 24


def test_write_atomically_creates_the_directory_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.json"
    write_atomically(target, "one")
    write_atomically(target, "two ü")
    assert target.read_text(encoding="utf-8") == "two ü"
    assert [p.name for p in target.parent.iterdir()] == ["file.json"]


def test_write_atomically_keeps_the_old_file_when_the_write_fails(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    write_atomically(target, "old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(target, "bad \udc80 surrogate")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]
