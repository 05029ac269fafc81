"""Argument rules of the analytics API; a broken rule names its field."""

from __future__ import annotations

from functions.core.errors import InvalidArgument


def text(field: str, value: str, max_length: int) -> str:
    if not value:
        raise InvalidArgument(field, "is required")
    if len(value) > max_length:
        raise InvalidArgument(field, f"must be at most {max_length} characters")
    return value
