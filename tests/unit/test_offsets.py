from __future__ import annotations

from functions.dev.offsets import PartitionOffsets


def test_commit_position_never_passes_an_unfinished_record() -> None:
    offsets = PartitionOffsets()
    for offset in (10, 11, 12, 13):
        offsets.started(offset)
    assert offsets.finished(12) is None
    assert offsets.finished(11) is None
    assert offsets.finished(10) == 13
    assert offsets.finished(13) == 14
    assert len(offsets) == 0


def test_unknown_offset_is_ignored() -> None:
    offsets = PartitionOffsets()
    offsets.started(1)
    assert offsets.finished(7) is None
    assert offsets.finished(1) == 2
