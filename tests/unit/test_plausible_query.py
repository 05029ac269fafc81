"""Stats API v2 requests parsed into our query model (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.bench.scenarios.reports import V2_DIMENSIONS, datetimes, v2_breakdown
from functions.gateway.plausible_query import Unsupported, date_range, parse, time_buckets

NOW = datetime(2026, 12, 6, 12, 30, tzinfo=UTC)
BASE = {"site_id": "dummy.site", "metrics": ["visitors"], "date_range": "7d"}


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        ("day", "2026-12-06", "2026-12-07"),
        ("7d", "2026-11-30", "2026-12-07"),
        ("30d", "2026-11-06", "2026-12-07"),
        ("realtime", "2026-12-06T12:25:00", "2026-12-06T12:30:05"),
        ("month", "2026-12-01", "2027-01-01"),
        ("6mo", "2026-07-01", "2027-01-01"),
        ("12mo", "2026-01-01", "2027-01-01"),
        ("year", "2026-01-01", "2027-01-01"),
        (["2026-11-01", "2026-11-30"], "2026-11-01", "2026-12-01"),
        (["2026-11-01T10:00:00Z", "2026-11-01T12:00:00Z"], "2026-11-01T10:00", "2026-11-01T12:00"),
    ],
)
def test_date_ranges_are_whole_utc_days(value: object, start: str, end: str) -> None:
    assert date_range(value, NOW) == (day(start), day(end))


def test_filters_map_onto_ours_and_not_flips_the_op() -> None:
    query = parse(
        {
            **BASE,
            "filters": [
                ["is", "visit:country", ["DE"]],
                ["and", [["contains", "event:page", ["/blog"]], ["is_not", "visit:source", ["x"]]]],
                ["not", ["contains", "event:props:plan", ["pro"]]],
                ["is", "event:goal", ["Signup"]],
                ["is", "event:goal", ["Visit /thanks"]],
            ],
        },
        NOW,
    )
    assert query.filters == (
        "country:is:DE",
        "page:contains:/blog",
        "referrer:is_not:x",
        "prop:plan:contains_not:pro",
        "event_type:is:Signup",
        "page:is:/thanks",
    )


def test_dimensions_and_the_echoed_query() -> None:
    query = parse(
        {
            **BASE,
            "metrics": ["visitors", "percentage"],
            "dimensions": ["event:props:author"],
            "order_by": [["visitors", "asc"]],
            "pagination": {"limit": 5, "offset": 5},
        },
        NOW,
    )
    assert query.dimension == "prop:author"
    assert (query.limit, query.offset, query.order_by) == (5, 5, (("visitors", "asc"),))
    assert query.echo["date_range"] == [
        "2026-11-30T00:00:00+00:00",
        "2026-12-06T23:59:59+00:00",
    ]
    assert parse({**BASE, "dimensions": ["time:week"]}, NOW).grain == "week"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"metrics": ["conversion_rate"]}, "conversion_rate"),
        ({"metrics": []}, "metrics"),
        ({"dimensions": ["visit:city"]}, "visit:city"),
        ({"dimensions": ["event:page", "visit:country"]}, "dimensions"),
        ({"filters": [["or", [["is", "event:page", ["/"]]]]]}, "'or'"),
        ({"filters": [["is", "event:page", ["/a", "/b"]]]}, "values"),
        ({"filters": [["matches", "event:page", ["^/a"]]]}, "'matches'"),
        ({"date_range": "90d"}, "date_range"),
        ({"site_id": "Not A Site"}, "site_id"),
        ({"segments": []}, "segments"),
        ({"metrics": ["percentage"]}, "percentage"),
        ({"order_by": [["pageviews", "desc"]]}, "order_by"),
        ({"pagination": {"limit": 10, "offset": 1000}}, "pagination"),
    ],
)
def test_what_we_cannot_answer_is_refused_by_name(change: dict[str, object], named: str) -> None:
    with pytest.raises(Unsupported, match=named):
        parse({**BASE, **change}, NOW)


def test_time_buckets_of_each_grain() -> None:
    start, end = day("2026-11-30"), day("2026-12-07")
    assert len(time_buckets(start, end, "day")) == 7
    assert len(time_buckets(start, end, "hour")) == 7 * 24
    assert time_buckets(start, end, "week") == [day("2026-11-30")]
    assert time_buckets(start, end, "month") == [day("2026-11-01"), day("2026-12-01")]
    with pytest.raises(Unsupported, match="time buckets"):
        time_buckets(day("2026-01-01"), end, "hour")


@pytest.mark.parametrize("dimension", V2_DIMENSIONS)
def test_the_benchmarks_v2_breakdowns_are_30_day_breakdowns(dimension: str) -> None:
    start, end = day("2026-11-06T12:01"), day("2026-12-06T12:00")
    query = parse(v2_breakdown("reports-1.bench", datetimes(start, end), dimension, 10), NOW)
    assert (query.start, query.end, query.grain, query.limit) == (start, end, None, 10)
    every = parse(v2_breakdown("reports-1.bench", datetimes(start, end), dimension, None), NOW)
    assert every.limit == 10_000
    assert query.dimension is not None
    # the live site's: today and the 30 days before
    days = parse(v2_breakdown("reports-1.bench", "30d", dimension, 10), NOW)
    tomorrow = day(NOW.date().isoformat()) + timedelta(days=1)
    assert (days.start, days.end, days.limit) == (tomorrow - timedelta(days=31), tomorrow, 10)
