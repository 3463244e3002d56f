import os
import signal
import subprocess

import pytest
from hypothesis import HealthCheck, settings

from tests.forking import fixture_socket, start_zygote, stop_zygote

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


SLOW_FILES = (
    "tests/integration/test_cli_batch.py",
    "tests/integration/test_cli_batch_postgres.py",
    "tests/integration/test_cli_chat.py",
    "tests/integration/test_serve.py",
    "tests/integration/test_cli_replay.py",
    "tests/integration/test_cli_tool_policy.py",
    "tests/integration/test_cli_inventory.py",
    "tests/integration/test_cli_query.py",
    "tests/integration/test_readme_example.py",
    "tests/integration/test_cli_oauth.py",
    "tests/security/test_fs_attacks.py",
)
"""Tests that each run processes for many seconds (DBOS batches, pseudo-terminals, servers)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist, start each worker's share of the tests with its part of the slow ones.

    xdist's work stealing hands each worker a contiguous share of the collection first and then
    moves tests from the longest queue to idle workers; slow tests that come last in a share run
    last, one after the other, while the other workers idle. Dealt out to the head of every
    share instead, they run side by side from the start, and the quick ones fill the gaps. Every
    worker computes the same order (xdist requires identical collections).
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if workers < 2 or len(items) < workers:
        return
    slow = [item for item in items if item.nodeid.startswith(SLOW_FILES)]
    quick = iter([item for item in items if not item.nodeid.startswith(SLOW_FILES)])
    remaining, ordered = len(items), []
    for share in range(workers):
        size = remaining // (workers - share)  # as xdist's first distribution cuts the collection
        remaining -= size
        head = slow[share::workers]
        ordered.extend(head)
        ordered.extend(item for _, item in zip(range(size - len(head)), quick, strict=False))
    ordered.extend(quick)
    items[:] = ordered


_zygote: subprocess.Popen[str] | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Start the fixture servers' zygote (:mod:`tests.forking`) once per session, in the controller.

    ``AGENT_TEST_FORK=0`` turns it off: every fixture server is then a new interpreter.
    """
    global _zygote
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        # Started as a background job (nohup, a runner without job control): SIGINT came ignored,
        # and every process the tests start would inherit that, so the Ctrl-C tests could not
        # interrupt anything. A handled SIGINT is reset to the default in the processes started.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(config, "workerinput") or os.environ.get("AGENT_TEST_FORK", "1") == "0":
        return
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    # None when it does not start: the fixture servers then start as new interpreters.
    _zygote = start_zygote("tests.forking", fixture_socket(), "fixtures", env=env)


def pytest_unconfigure(config: pytest.Config) -> None:
    global _zygote
    if _zygote is not None:
        stop_zygote(_zygote, fixture_socket())
        _zygote = None
