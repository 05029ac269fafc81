"""A Stats API query (functions/gateway/plausible_query.py) answered by `query`'s reports.

Each Plausible metric is a view of a report `query` already serves: `visitors` and `events`
of the overview, `visits`, `bounce_rate`, `visit_duration` and `views_per_visit` of the
visits report, `pageviews` either under the filter `event_type:is:pageview`; a dimension's
rows are the breakdown's, a time dimension's one aggregate per bucket. Calls run at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime

from clickstream.analytics.v1 import analytics_pb2 as pb
from google.protobuf.timestamp_pb2 import Timestamp

from functions.gateway.client import REPORT_DEADLINE_S, QueryClient
from functions.gateway.plausible_query import StatsQuery, time_buckets, time_label
from functions.query.validate import MAX_LIMIT

Value = int | float
Row = tuple[list[object], dict[str, Value]]  # dimension values, metrics by name
PAGEVIEWS = "event_type:is:pageview"
_VISIT_METRICS = frozenset(("visits", "bounce_rate", "visit_duration", "views_per_visit"))


def _range(start: datetime, end: datetime) -> pb.TimeRange:
    answer = pb.TimeRange()
    first, last = Timestamp(), Timestamp()
    first.FromDatetime(start)
    last.FromDatetime(end)
    getattr(answer, "from").CopyFrom(first)
    answer.to.CopyFrom(last)
    return answer


def _visit_metrics(answer: pb.GetVisitsResponse) -> dict[str, Value]:
    return {
        "visits": answer.visits,
        "bounce_rate": round(answer.bounce_rate * 100),
        "visit_duration": round(answer.mean_duration_s),
        "views_per_visit": round(answer.views_per_visit, 2),
    }


async def aggregate(
    client: QueryClient,
    site: str,
    span: pb.TimeRange,
    filters: Sequence[str],
    metrics: Sequence[str],
) -> dict[str, Value]:
    """The metrics over the whole range (no dimension)."""
    stub, found = client.stub, {}
    overview = stub.GetOverview(
        pb.GetOverviewRequest(range=span, site=site, filters=filters), timeout=REPORT_DEADLINE_S
    )
    calls = [overview]
    if _VISIT_METRICS.intersection(metrics):
        visits = pb.GetVisitsRequest(range=span, site=site, filters=filters)
        calls.append(stub.GetVisits(visits, timeout=REPORT_DEADLINE_S))
    if "pageviews" in metrics:
        views = pb.GetOverviewRequest(range=span, site=site, filters=[*filters, PAGEVIEWS])
        calls.append(stub.GetOverview(views, timeout=REPORT_DEADLINE_S))
    answers = list(await asyncio.gather(*calls))
    total = answers.pop(0)
    found = {"visitors": total.distinct_users, "events": total.total_events}
    if _VISIT_METRICS.intersection(metrics):
        found |= _visit_metrics(answers.pop(0))
    if "pageviews" in metrics:
        found["pageviews"] = answers.pop(0).total_events
    return found


async def _breakdown(client: QueryClient, query: StatsQuery, dimension: str) -> list[Row]:
    span, stub = _range(query.start, query.end), client.stub
    fetched = min(MAX_LIMIT, query.offset + query.limit)

    async def rows(filters: Sequence[str]) -> pb.GetBreakdownResponse:
        request = pb.GetBreakdownRequest(
            range=span, site=query.site, dimension=dimension, limit=fetched, filters=filters
        )
        answer: pb.GetBreakdownResponse
        answer = await stub.GetBreakdown(request, timeout=REPORT_DEADLINE_S)
        return answer

    answer = await rows(query.filters)
    found: dict[str, dict[str, Value]] = {
        r.value: {"visitors": r.visitors, "visits": r.visits, "events": r.events}
        for r in answer.rows
    }
    if "pageviews" in query.metrics:
        views = await rows([*query.filters, PAGEVIEWS])
        counted = {r.value: r.events for r in views.rows}
        for value, metrics in found.items():
            metrics["pageviews"] = counted.get(value, 0)
    if {"bounce_rate", "visit_duration", "views_per_visit"}.intersection(query.metrics):
        each = await asyncio.gather(
            *(
                stub.GetVisits(
                    pb.GetVisitsRequest(
                        range=span,
                        site=query.site,
                        filters=[*query.filters, f"{dimension}:is:{value}"],
                    ),
                    timeout=REPORT_DEADLINE_S,
                )
                for value in found
            )
        )
        for metrics, visits in zip(found.values(), each, strict=True):
            metrics |= {k: v for k, v in _visit_metrics(visits).items() if k != "visits"}
    if "percentage" in query.metrics:
        total = await aggregate(client, query.site, span, query.filters, ())
        for metrics in found.values():
            share = metrics["visitors"] / total["visitors"] * 100 if total["visitors"] else 0
            metrics["percentage"] = round(share, 1)
    return [([value], metrics) for value, metrics in found.items()]


async def _time_series(client: QueryClient, query: StatsQuery) -> list[Row]:
    assert query.grain is not None
    starts = time_buckets(query.start, query.end, query.grain)
    ends = [*starts[1:], query.end]
    answers = await asyncio.gather(
        *(
            aggregate(
                client,
                query.site,
                _range(max(start, query.start), end),
                query.filters,
                query.metrics,
            )
            for start, end in zip(starts, ends, strict=True)
        )
    )
    return [
        ([time_label(start, query.grain)], metrics)
        for start, metrics in zip(starts, answers, strict=True)
    ]


def _ordered(query: StatsQuery, rows: list[Row]) -> list[Row]:
    order = query.order_by or (
        ((query.dimensions[0], "asc"),) if query.grain else ((query.metrics[0], "desc"),)
    )
    for name, direction in reversed(order):  # stable sorts: the last key first
        descending = direction == "desc"
        if name in query.dimensions:
            rows.sort(key=lambda row: str(row[0][0]), reverse=descending)
        else:
            rows.sort(key=lambda row: row[1].get(name, 0), reverse=descending)
    return rows


async def run(client: QueryClient, query: StatsQuery) -> tuple[list[Row], int]:
    """The query's rows (ordered, one page of them) and how many rows there were."""
    if query.grain is not None:
        rows = await _time_series(client, query)
    elif query.dimension is not None:
        rows = await _breakdown(client, query, query.dimension)
    else:
        span = _range(query.start, query.end)
        rows = [([], await aggregate(client, query.site, span, query.filters, query.metrics))]
    ordered = _ordered(query, rows)
    return ordered[query.offset : query.offset + query.limit], len(ordered)
