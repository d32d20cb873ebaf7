"""Implementations of the ``eoport`` subcommands (argument handling and output only)."""
