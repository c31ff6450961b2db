"""Runnable demonstrations of valuegrad: ``python -m demos.<name>`` from the repository root."""
