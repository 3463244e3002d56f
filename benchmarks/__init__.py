"""Performance measurements of the agent runtime against a hand-written floor (not tests)."""
