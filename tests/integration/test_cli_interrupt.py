"""Ctrl-C during a run: servers stopped, the JSON result written, exit 130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.cli_helpers import AGENT, FIXTURE_SERVER, TEST_KEY, agent_env
from tests.loopback import ScriptedOpenRouter, call, reply


def wait_for_file(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


def test_ctrl_c_stops_the_servers_writes_the_json_result_and_exits_130(tmp_path: Path) -> None:
    pids, started, cancelled = tmp_path / "pids", tmp_path / "started", tmp_path / "cancelled"
    server_cmd = f"{sys.executable} {FIXTURE_SERVER} --pid-file {pids}"
    arguments = {"seconds": 60, "started": str(started), "marker": str(cancelled)}
    with ScriptedOpenRouter(reply("Taking a nap.", call("sleep", arguments))) as server:
        proc = subprocess.Popen(
            [AGENT, "run", "nap", "-s", server_cmd, "--json", "--no-stream", "--approval", "off"],
            env=agent_env(server.base_url, tmp_path),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for_file(started)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, stderr
    result = json.loads(stdout)
    assert result["stop_reason"] == "error"
    assert result["error"] == {"type": "Interrupted", "message": "interrupted by the user"}
    assert (result["turns"], result["output"]) == (1, "Taking a nap.")
    assert stderr.strip().splitlines()[-1] == "interrupted"
    [pid] = pids.read_text().split()
    assert not Path(f"/proc/{pid}").exists()
    assert cancelled.read_text() == "cancelled"
    assert TEST_KEY not in stdout + stderr
