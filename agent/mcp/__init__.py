"""MCP client side: connections, the manager that owns them, and conversion to our types.

``targets`` says what a connection can be given (a server config, an SDK transport or a factory
of one, an in-process server object); ``connection`` owns one server; ``manager`` owns them all
(a :class:`~agent.tools.Toolset`) and reports on them (``report``); ``convert`` is the one
boundary between SDK types and ours.
"""
