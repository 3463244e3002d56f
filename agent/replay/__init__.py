"""Record a run's model exchanges and tool calls, and replay them offline (``--record``, ``--replay``)."""
