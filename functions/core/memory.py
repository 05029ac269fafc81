"""Garbage collection once a function has started."""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """What start-up built (modules, the app, clients, pools) lives as long as the process:
    frozen, it is no longer walked by every full collection. Measured on `process` in
    60,000-event drains: 221 -> 201 us of CPU per event (median of 4, interleaved)."""
    gc.freeze()
