"""Operator commands, run as `python -m functions.admin <group> <command> ...` (`nox -s admin`)."""
