"""What a CloudEvents attribute value may hold here: shared by the event rules and the
configuration (a write key's site becomes every event's `source`)."""

from __future__ import annotations

import re

# The HTTP binding carries attributes as headers, which arrive read as Latin-1 and cannot
# hold a control character at all: printable ASCII keeps a value byte for byte what was sent.
_PRINTABLE_ASCII = re.compile(r"[!-~]+")
ATTRIBUTE_RULE = "must be printable ASCII without spaces"
MAX_SOURCE_LENGTH = 1024


def header_safe(text: str) -> bool:
    return _PRINTABLE_ASCII.fullmatch(text) is not None
