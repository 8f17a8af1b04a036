"""Subcommands of the ``assistant`` CLI, one module each (discovered by ``assistant.cli``)."""
