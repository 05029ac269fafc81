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


def test_out_of_order_acknowledgements_commit_exactly_the_finished_prefix() -> None:
    offsets = PartitionOffsets()
    for offset in range(1_000):
        offsets.started(offset)
    # every odd offset first: nothing commits while 0 is out
    assert [offsets.finished(o) for o in range(1, 1_000, 2)] == [None] * 500
    # each even one then releases itself and the odd one behind it
    assert [offsets.finished(o) for o in range(0, 1_000, 2)] == list(range(2, 1_001, 2))
    assert len(offsets) == 0
