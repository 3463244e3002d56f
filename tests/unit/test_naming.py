from __future__ import annotations

import re

import pytest

from agent.naming import MAX_NAME_LENGTH, ToolNameMap, ToolRef, sanitize

VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("read_file", "read_file"),
        ("get-sum", "get-sum"),
        ("files.read", "files_read"),
        ("a/b:c", "a_b_c"),
        ("héllo wörld", "h_llo_w_rld"),
        ("...", "tool"),
    ],
)
def test_sanitize_keeps_only_safe_characters(raw: str, expected: str) -> None:
    assert sanitize(raw) == expected


def test_unique_tools_keep_their_own_names() -> None:
    names = ToolNameMap([ToolRef("fs", "read_file"), ToolRef("calc", "evaluate")])
    assert names.names() == ["evaluate", "read_file"]
    assert names.resolve("read_file") == ToolRef("fs", "read_file")
    assert names.name_for("calc", "evaluate") == "evaluate"


def test_colliding_tools_are_prefixed_with_their_server() -> None:
    names = ToolNameMap([ToolRef("fs", "search"), ToolRef("web", "search"), ToolRef("fs", "read")])
    assert names.names() == ["fs__search", "read", "web__search"]
    assert names.resolve("web__search") == ToolRef("web", "search")


def test_names_that_sanitize_alike_stay_distinct_and_route_back() -> None:
    refs = [ToolRef("s", "a.b"), ToolRef("s", "a_b"), ToolRef("s", "a/b")]
    names = ToolNameMap(refs)
    assert len(set(names.names())) == 3
    for ref in refs:
        assert names.resolve(names.name_for(ref.server, ref.tool)) == ref
        assert VALID.match(names.name_for(ref.server, ref.tool))


def test_long_names_are_cut_to_64_characters_with_a_stable_hash() -> None:
    long_tool = "x" * 128
    first = ToolNameMap([ToolRef("srv", long_tool)]).name_for("srv", long_tool)
    again = ToolNameMap([ToolRef("srv", long_tool)]).name_for("srv", long_tool)
    assert len(first) == MAX_NAME_LENGTH
    assert first == again
    assert VALID.match(first)


def test_long_names_differing_only_at_the_end_stay_distinct() -> None:
    a, b = "y" * 100 + "a", "y" * 100 + "b"
    names = ToolNameMap([ToolRef("s", a), ToolRef("s", b)])
    assert names.name_for("s", a) != names.name_for("s", b)
    assert names.resolve(names.name_for("s", b)) == ToolRef("s", b)


def test_mapping_does_not_depend_on_server_start_order() -> None:
    refs = [ToolRef("b", "t"), ToolRef("a", "t"), ToolRef("a", "u")]
    assert ToolNameMap(refs).names() == ToolNameMap(list(reversed(refs))).names()


def test_a_made_up_name_resolves_to_nothing() -> None:
    assert ToolNameMap([ToolRef("fs", "read")]).resolve("fs__read") is None
