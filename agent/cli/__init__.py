"""The command line interface: the only part of the package that prints."""
