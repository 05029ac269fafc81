"""Ports for servers the dev stack, the benchmarks and the tests start on this machine."""

from __future__ import annotations

import random
import socket
from pathlib import Path

# Below the ephemeral range of Linux (32768-60999) and of macOS/BSD (49152-65535).
CANDIDATES = range(20000, 32768)
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")

_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing is bound to now, never handed out before by this process.

    Not one from `bind(("", 0))`: that comes from the ephemeral range, where the kernel also
    picks the local port of every outgoing connection (each Kafka, PostgreSQL or Redis client
    here), so one may take it between the probe and the server's own bind. CI saw that:
    "[Errno 98] address already in use" on a port handed out a moment before.
    """
    ephemeral = _ephemeral_range()
    candidates = [port for port in CANDIDATES if port not in ephemeral and port not in _handed_out]
    for port in random.sample(candidates, k=min(len(candidates), 200)):
        if _bindable(port):
            _handed_out.add(port)
            return port
    raise OSError("no free port outside the ephemeral range")


def _ephemeral_range() -> range:
    try:
        low, high = (int(bound) for bound in EPHEMERAL_RANGE_FILE.read_text().split())
    except (OSError, ValueError):
        return range(0)
    return range(low, high + 1)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
        return True
