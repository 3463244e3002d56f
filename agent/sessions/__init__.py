"""Sessions: every run kept in a local store to continue, resume, list and export (see ``store``)."""
