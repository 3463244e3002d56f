"""Stream processing: what many small deltas add up to is joined once, not once per delta.

``reasoning.text`` details arrive as one piece per delta; they used to be concatenated onto the
text so far each time, so 100,000 deltas of a long reasoning took 9 s instead of under one.
"""

from __future__ import annotations

from agent.providers.response import ResponseBuilder
from tests.security.linearity import assert_linear


def reasoning_delta(text: str) -> dict[str, object]:
    detail = {"type": "reasoning.text", "index": 0, "text": text, "format": None}
    return {"choices": [{"index": 0, "delta": {"reasoning_details": [detail]}}]}


def build(pieces: list[str]) -> ResponseBuilder:
    builder = ResponseBuilder(model="m")
    for piece in pieces:
        builder.add(reasoning_delta(piece))
    builder.add({"choices": [{"index": 0, "delta": {"content": "done"}, "finish_reason": "stop"}]})
    return builder


def test_reasoning_detail_pieces_are_kept_as_pieces_until_the_response_is_built() -> None:
    builder = build(["a", "b", "c"])
    assert builder._details == [{"type": "reasoning.text", "index": 0, "text": "a", "format": None}]
    details = builder.build().message.reasoning_details
    assert details == [{"type": "reasoning.text", "index": 0, "text": "abc", "format": None}]


def test_reasoning_details_of_many_deltas_build_in_linear_time() -> None:
    def process(text: str) -> object:
        return build([text[at : at + 1000] for at in range(0, len(text), 1000)]).build()

    assert_linear(process, "x" * 1000, 200)  # 200 deltas of 1,000 characters, then 1,600
