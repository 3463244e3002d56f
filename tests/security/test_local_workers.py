"""``agent batch run --workers N``: the local workers get the database URL, password included, in
their environment, never in a command line that every user of the machine can read (``ps``)."""

from __future__ import annotations

from agent.batch.local_workers import LocalWorkers


def test_a_database_password_never_reaches_a_workers_command_line() -> None:
    url = "postgresql://agent:hunter2-secret@db.internal:5432/agent"
    workers = LocalWorkers(2, "b0123456789a", url, env={"PATH": "/usr/bin"})
    assert not any("hunter2" in part for part in workers.command)
    assert "--database-url" not in workers.command
    assert workers.env["AGENT_DATABASE_URL"] == url
