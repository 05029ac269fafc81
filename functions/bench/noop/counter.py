"""What the no-op function received: shared by the function and the `/received` route
(functions-framework loads `main.py` as its own module, so state lives here)."""

from __future__ import annotations

import time


class Received:
    """How many events arrived, and when (epoch seconds) the first and the last did."""

    count = 0
    first = 0.0
    last = 0.0

    @classmethod
    def one(cls) -> None:
        now = time.time()
        if cls.count == 0:
            cls.first = now
        cls.count += 1
        cls.last = now
