"""Naming where a replayed request departs from the recorded one."""

from __future__ import annotations

from agent.replay.replaying import first_difference


def test_equal_requests_have_no_difference() -> None:
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    assert first_difference(request, dict(request)) is None


def test_the_first_difference_is_named_by_its_path() -> None:
    recorded = {
        "model": "m",
        "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "a"}],
    }
    now = {"model": "m", "messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "b"}]}
    assert first_difference(recorded, now) == 'messages[1].content is "b" now, "a" when recording'


def test_missing_extra_keys_and_lengths_are_named() -> None:
    assert first_difference({"a": 1, "b": 2}, {"a": 1}) == "b was sent when recording, not now"
    assert first_difference({"a": 1}, {"a": 1, "tools": []}) == "tools is sent now, not when recording"
    assert first_difference({"m": [1]}, {"m": [1, 2]}) == "m has 2 items now, 1 when recording"


def test_long_values_are_cut_to_one_line() -> None:
    found = first_difference({"x": "a" * 500}, {"x": "b\n" * 300})
    assert found is not None and "\n" not in found and len(found) < 300
