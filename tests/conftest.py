import os

import pytest
from hypothesis import HealthCheck, settings

# Fuzzing in CI: bounded example counts, no per-example deadline (a loaded 2-core runner is slow,
# and speed is measured in benchmarks/, not asserted in tests). AGENT_FUZZ=long digs deeper.
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("AGENT_FUZZ", "ci"))


@pytest.fixture(autouse=True)
def _private_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's config (trust store included), cache or sessions."""
    home = tmp_path_factory.mktemp("user-home")
    monkeypatch.setenv("AGENT_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("AGENT_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("AGENT_DATA_DIR", str(home / "data"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
