"""Narrowing top pages with per-bucket summaries: the shortlist always holds the true top N
(checked against brute force on random data, also with partly covered edge buckets bounded
by their whole bucket's summary), and gives up rather than guess."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.query.top_pages import Summary, narrow


def summarize(bucket: dict[str, int], size: int) -> Summary:
    ranked = sorted(bucket.items(), key=lambda item: (-item[1], item[0]))
    listed, rest = ranked[:size], ranked[size:]
    return Summary([p for p, _ in listed], [n for _, n in listed], rest[0][1] if rest else 0)


def top(totals: dict[str, int], limit: int) -> list[str]:
    return [p for p, _ in sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:limit]]


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    buckets=st.integers(1, 30),
    pages=st.integers(1, 300),
    size=st.integers(1, 20),
    limit=st.integers(1, 10),
    edges=st.integers(0, 2),
)
def test_the_shortlist_holds_the_true_top(
    seed: int, buckets: int, pages: int, size: int, limit: int, edges: int
) -> None:
    rng = random.Random(seed)

    def bucket() -> dict[str, int]:
        return {
            f"/p{int(rng.paretovariate(1.0)) % pages}": rng.randrange(1, 50)
            for _ in range(rng.randrange(1, 3 * pages))
        }

    data = [bucket() for _ in range(buckets)]
    # an edge bucket's summary is of the whole hour; the range holds only part of each count
    whole_edges = [bucket() for _ in range(edges)]
    covered = [{p: rng.randrange(0, n + 1) for p, n in edge.items()} for edge in whole_edges]
    totals: dict[str, int] = {}
    for counts in data + covered:
        for page, count in counts.items():
            totals[page] = totals.get(page, 0) + count
    shortlist = narrow(
        [summarize(counts, size) for counts in data],
        [summarize(edge, size) for edge in whole_edges],
        limit,
    )
    if shortlist is not None:
        exact = {page: totals[page] for page in shortlist}
        assert top(exact, limit) == top(totals, limit)


def test_skewed_pages_are_narrowed_to_a_few() -> None:
    rng = random.Random(1)
    data = [
        {f"/p{k}": int(10_000 / (k + 1) ** 1.1 * rng.uniform(0.8, 1.2)) + 1 for k in range(2_000)}
        for _ in range(30)
    ]
    shortlist = narrow([summarize(bucket, 50) for bucket in data], [], 10)
    assert shortlist is not None
    assert len(shortlist) < 30


def test_a_flat_distribution_cannot_be_narrowed() -> None:
    data = [{f"/p{k}": 5 for k in range(100)} for _ in range(10)]
    assert narrow([summarize(bucket, 10) for bucket in data], [], 5) is None


def test_buckets_listing_every_page_settle_everything() -> None:
    data = [{"/a": 3, "/b": 1}, {"/b": 4}]
    assert sorted(narrow([summarize(bucket, 5) for bucket in data], [], 1) or []) == ["/a", "/b"]


def test_edge_buckets_keep_narrowing_long_ranges() -> None:
    rng = random.Random(2)

    def hour() -> dict[str, int]:
        return {
            f"/p{k}": int(1_000 / (k + 1) ** 1.1 * rng.uniform(0.8, 1.2)) + 1 for k in range(500)
        }

    shortlist = narrow([summarize(hour(), 50) for _ in range(60)], [summarize(hour(), 50)] * 2, 10)
    assert shortlist is not None
    assert len(shortlist) < 30


def test_a_page_only_in_an_edge_bucket_is_not_ruled_out() -> None:
    # "/edge" has no counted minimum, but may hold up to 9 + 2 in the range's part of the
    # hour, and "/b" at most 5 + 1: only "/a" and "/edge" can be the most counted
    inside = [Summary(["/a", "/b"], [10, 5], 2)]
    edge = [Summary(["/edge"], [9], 1)]
    assert sorted(narrow(inside, edge, 1) or []) == ["/a", "/edge"]
