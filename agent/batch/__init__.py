"""Durable batches (``agent batch``): many tasks, each on one or more models, checkpointed on DBOS.

:mod:`agent.batch.batch` is the front (run, resume, retry, cancel, status, list, worker);
:mod:`agent.batch.durable` makes model requests and tool calls DBOS steps; the rest is plumbing
(see ``docs/scale.md``). DBOS comes with the ``batch`` extra: ``pip install 'agent[batch]'``.
"""
