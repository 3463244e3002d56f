"""A durable batch replays the errors its database recorded: a tampered row is read leniently."""

from agent import errors
from agent.batch.durable import error_from


def test_a_stored_provider_error_with_fields_of_the_wrong_type_leaves_them_unknown() -> None:
    """The batch database is a trust boundary: a tampered error row is read leniently."""
    again = error_from(
        {
            "type": "RateLimitError",
            "message": "slow down",
            "status": "429",
            "code": ["x"],
            "metadata": "raw",
            "model": 7,
            "retry_after": True,
            "retryable": "yes",
            "fallback_models": "m/2",
            "availability_code": {},
        }
    )
    assert isinstance(again, errors.RateLimitError)
    assert (again.message, again.status, again.code, again.metadata, again.model) == (
        "slow down",
        None,
        None,
        {},
        None,
    )
    assert (again.retry_after, again.retryable, again.fallback_models, again.availability_code) == (
        None,
        errors.RateLimitError.retryable,
        (),
        None,
    )
