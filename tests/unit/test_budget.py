"""The pure side of cost and limits: usage sums, prices, and what the next request may ask for."""

from __future__ import annotations

import pytest

from agent.budget import MIN_OUTPUT_TOKENS, Allowance, Price, Spending, price_of, priced, worst_price
from agent.messages import Usage

CHEAP = Price(prompt=0.000001, completion=0.000002)
ESTIMATED = "estimated"
DEAR = Price(prompt=0.00001, completion=0.00003, request=0.001)


@pytest.mark.parametrize(
    ("left", "right", "cost", "source"),
    [
        (Usage(), Usage(), None, None),
        (Usage(cost=0.5), Usage(), 0.5, "reported"),
        (Usage(cost=0.5), Usage(cost=0.25), 0.75, "reported"),
        (
            Usage(cost=0.5, cost_source="estimated"),
            Usage(cost=0.25, cost_source="estimated"),
            0.75,
            "estimated",
        ),
        (Usage(cost=0.5), Usage(cost=0.25, cost_source="estimated"), 0.75, "mixed"),
        (Usage(cost=0.5, cost_source="mixed"), Usage(cost=0.25), 0.75, "mixed"),
    ],
)
def test_usage_sums_say_where_their_cost_came_from(
    left: Usage, right: Usage, cost: float | None, source: str | None
) -> None:
    total = left + right
    assert (total.cost, total.cost_source) == (cost, source)


def test_a_usage_without_cost_has_no_cost_source() -> None:
    assert Usage(cost_source="reported").cost_source is None
    assert Usage(cost=0.0).cost_source == "reported"


def test_a_reported_cost_is_kept_and_a_missing_one_estimated_from_the_price() -> None:
    reported = Usage(prompt_tokens=1000, completion_tokens=500, total_tokens=1500, cost=0.5)
    assert priced(reported, CHEAP) is reported
    missing = Usage(prompt_tokens=1000, completion_tokens=500, total_tokens=1500)
    assert priced(missing, CHEAP) == Usage(
        prompt_tokens=1000, completion_tokens=500, total_tokens=1500, cost=0.002, cost_source="estimated"
    )
    assert priced(missing, None) is missing


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("acme/small", CHEAP),
        ("acme/large", DEAR),
        ("acme/large-2026-01-01", DEAR),  # a dated version of the model asked for
        ("other/model", CHEAP),  # an answer that matches nothing: the model asked (the first)
        (None, CHEAP),
    ],
)
def test_the_answering_model_is_priced_as_the_model_it_was_asked_as(
    model: str | None, expected: Price
) -> None:
    prices = {"acme/small:nitro": CHEAP, "acme/large": DEAR}
    assert price_of(prices, model) == expected


def test_the_worst_price_is_the_highest_of_each_kind_and_unknown_if_any_is() -> None:
    assert worst_price({"a": CHEAP, "b": DEAR}) == DEAR
    assert worst_price({"a": Price(0.00002, 0.000001), "b": CHEAP}) == Price(0.00002, 0.000002)
    assert worst_price({"a": CHEAP, "b": None}) is None
    assert worst_price({}) is None


def test_spending_sums_the_run_and_each_model() -> None:
    spending = Spending()
    spending.add("a", Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15, cost=0.01))
    spending.add("b", Usage(prompt_tokens=1000, completion_tokens=500, total_tokens=1500), CHEAP)
    spending.add("a", Usage(prompt_tokens=20, completion_tokens=5, total_tokens=25, cost=0.02))
    assert spending.by_model == {
        "a": Usage(prompt_tokens=30, completion_tokens=10, total_tokens=40, cost=0.03),
        "b": Usage(
            prompt_tokens=1000, completion_tokens=500, total_tokens=1500, cost=0.002, cost_source="estimated"
        ),
    }
    assert spending.total.total_tokens == 1540
    assert spending.total.cost == pytest.approx(0.032)
    assert spending.total.cost_source == "mixed"


@pytest.mark.parametrize(
    ("spent", "prompt", "output_limit", "expected"),
    [
        # $0.10 budget at $1/M in, $2/M out: 1,000 prompt tokens cost $0.001, the rest buys 49,500.
        (0.0, 1000, 4096, Allowance()),  # the model's own limit is affordable: nothing asked
        (0.09, 1000, 4096, Allowance()),  # 4,500 affordable, the model writes at most 4,096
        (0.09, 1000, 8192, Allowance(limit="max_cost", max_output=4500)),
        (0.09, 1000, None, Allowance(limit="max_cost", max_output=4500)),
        (0.0999, 40, None, Allowance(limit="max_cost", max_output=30)),
        (0.0999, 80, None, None),  # only 10 output tokens affordable
        (0.1, 10, None, None),
    ],
)
def test_a_cost_limit_lowers_max_tokens_or_stops_the_request(
    spent: float, prompt: int, output_limit: int | None, expected: Allowance | None
) -> None:
    spending = Spending(max_cost=0.1)
    spending.add("m", Usage(cost=spent))
    allowance = spending.allowance(prompt, CHEAP, output_limit)
    if expected is None:
        assert (allowance.stop, allowance.limit) == (True, "max_cost")
        assert "of the budget of $0.1 is left" in allowance.reason
    else:
        assert allowance == expected


def test_a_request_price_counts_before_any_output() -> None:
    spending = Spending(max_cost=0.0015)
    # $0.001 a request and $0.0001 of prompt leave $0.0004: 13 tokens at $30/M, 40 at $10/M.
    stop = spending.allowance(10, DEAR, None)
    assert (stop.stop, stop.limit) == (True, "max_cost")
    assert stop.reason == (
        "the next request (about 10 prompt tokens) would cost at least $0.00158 "
        "and $0.0015 of the budget of $0.0015 is left"
    )
    assert MIN_OUTPUT_TOKENS > 13
    assert spending.allowance(10, Price(0.00001, 0.00001, 0.001), None) == Allowance(
        limit="max_cost", max_output=40
    )


def test_a_token_limit_counts_prompt_and_output_of_every_turn() -> None:
    spending = Spending(max_tokens=1000)
    assert spending.allowance(300, None, 4096) == Allowance(limit="max_tokens", max_output=700)
    spending.add("m", Usage(prompt_tokens=300, completion_tokens=200, total_tokens=500))
    assert spending.allowance(400, None, 50) == Allowance()  # the model writes at most 50
    stop = spending.allowance(490, None, None)
    assert (stop.stop, stop.limit) == (True, "max_tokens")
    assert (
        stop.reason
        == "the next request needs about 490 prompt tokens and 500 of the run's 1,000 tokens are left"
    )


def test_the_tighter_of_two_limits_bounds_the_request() -> None:
    spending = Spending(max_cost=0.1, max_tokens=2000)
    assert spending.allowance(1000, CHEAP, None) == Allowance(limit="max_tokens", max_output=1000)
    spending = Spending(max_cost=0.0012, max_tokens=2000)
    assert spending.allowance(1000, CHEAP, None) == Allowance(limit="max_cost", max_output=100)


def test_without_a_price_only_the_token_limit_is_checked_before_a_request() -> None:
    spending = Spending(max_cost=0.01)
    spending.add("m", Usage(cost=0.0099))
    assert spending.allowance(100_000, None, None) == Allowance()
    assert spending.crossed() is None
    spending.add("m", Usage(cost=0.0001))
    assert spending.crossed() == "max_cost"


def test_free_models_never_reach_a_cost_limit() -> None:
    spending = Spending(max_cost=0.01)
    assert spending.allowance(1_000_000, Price(0.0, 0.0), None) == Allowance()


def test_no_limits_allow_everything_without_looking() -> None:
    spending = Spending()
    assert not spending.limited
    assert spending.allowance(10**9, None, None) == Allowance()
    spending.add("m", Usage(prompt_tokens=10**9, total_tokens=10**9, cost=10.0))
    assert spending.crossed() is None


def test_a_token_limit_is_crossed_at_its_count() -> None:
    spending = Spending(max_tokens=100)
    spending.add("m", Usage(prompt_tokens=60, completion_tokens=39, total_tokens=99))
    assert spending.crossed() is None
    spending.add("m", Usage(completion_tokens=1, total_tokens=1))
    assert spending.crossed() == "max_tokens"
