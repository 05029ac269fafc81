"""Which offset of a partition may be committed: never past an unacknowledged record."""

from __future__ import annotations

from collections import deque


class PartitionOffsets:
    """Records of one partition in fetch order; acknowledgements may arrive in any order.

    Each acknowledgement costs O(1) amortised, whatever the number in flight: the records
    stay in a deque in fetch order and only its finished head is popped. (Copying the
    pending records on each acknowledgement made the dispatcher ~15% dearer per event at
    600 in flight than at 200.)
    """

    def __init__(self) -> None:
        self._order: deque[int] = deque()  # offsets in fetch order
        self._finished: dict[int, bool] = {}  # offset -> acknowledged, for every pending one

    def started(self, offset: int) -> None:
        self._order.append(offset)
        self._finished[offset] = False

    def finished(self, offset: int) -> int | None:
        """Mark `offset` finished; returns the new commit position, if it moved."""
        if offset not in self._finished:
            return None  # revoked and reassigned meanwhile: the new owner redelivers it
        self._finished[offset] = True
        position = None
        while self._order and self._finished[self._order[0]]:
            done = self._order.popleft()
            del self._finished[done]
            position = done + 1
        return position

    def __len__(self) -> int:
        return len(self._order)
