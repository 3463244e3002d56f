from collections.abc import Iterator

import pytest

from tests.integration.batch_helpers import reap


@pytest.fixture(autouse=True)
def _reap_batch_processes() -> Iterator[None]:
    """A batch test that fails leaves no ``agent batch`` process running into the next test."""
    yield
    reap()
