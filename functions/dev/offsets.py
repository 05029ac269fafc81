"""Which offset of a partition may be committed: never past an unacknowledged record."""

from __future__ import annotations


class PartitionOffsets:
    """Records of one partition in fetch order; acknowledgements may arrive in any order."""

    def __init__(self) -> None:
        self._pending: dict[int, bool] = {}  # offset -> finished, in fetch order

    def started(self, offset: int) -> None:
        self._pending[offset] = False

    def finished(self, offset: int) -> int | None:
        """Mark `offset` finished; returns the new commit position, if it moved."""
        if offset not in self._pending:
            return None  # revoked and reassigned meanwhile: the new owner redelivers it
        self._pending[offset] = True
        position = None
        for pending_offset, done in list(self._pending.items()):
            if not done:
                break
            del self._pending[pending_offset]
            position = pending_offset + 1
        return position

    def __len__(self) -> int:
        return len(self._pending)
