"""The reports' REST views (breakdown, visits, goals, funnel, realtime): argument parsing and JSON
shapes (DESIGN.md "REST"), no I/O. Filters, dimensions and ranges are checked by `query`,
which names the bad parameter; goals and steps are checked here, so that an error names the
REST parameter (`goal`, `step`) rather than the proto field."""

from __future__ import annotations

from clickstream.analytics.v1 import analytics_pb2 as pb
from starlette.datastructures import QueryParams

from functions.core import goals
from functions.gateway.routes import filters, limit, site, span, time_range


def breakdown_request(query: QueryParams) -> pb.GetBreakdownRequest:
    return pb.GetBreakdownRequest(
        range=time_range(query),
        site=site(query),
        dimension=query.get("dimension", ""),
        limit=limit(query),
        filters=filters(query),
    )


def visits_request(query: QueryParams) -> pb.GetVisitsRequest:
    return pb.GetVisitsRequest(range=time_range(query), site=site(query), filters=filters(query))


def goals_request(query: QueryParams) -> pb.GetGoalsRequest:
    asked = query.getlist("goal")
    goals.goals(asked, "goal", 1, goals.MAX_GOALS)
    return pb.GetGoalsRequest(
        range=time_range(query), site=site(query), goals=asked, filters=filters(query)
    )


def funnel_request(query: QueryParams) -> pb.GetFunnelRequest:
    steps = query.getlist("step")
    goals.goals(steps, "step", goals.MIN_STEPS, goals.MAX_STEPS)
    return pb.GetFunnelRequest(
        range=time_range(query), site=site(query), steps=steps, filters=filters(query)
    )


def realtime_request(query: QueryParams) -> pb.GetRealtimeRequest:
    return pb.GetRealtimeRequest(site=site(query), limit=limit(query), filters=filters(query))


def breakdown_json(response: pb.GetBreakdownResponse) -> dict[str, object]:
    return {
        **span(response),
        "dimension": response.dimension,
        "rows": [
            {"value": r.value, "events": r.events, "visitors": r.visitors, "visits": r.visits}
            for r in response.rows
        ],
    }


def visits_json(response: pb.GetVisitsResponse) -> dict[str, object]:
    return {
        **span(response),
        "visits": response.visits,
        "visitors": response.visitors,
        "bounce_rate": response.bounce_rate,
        "mean_duration_s": response.mean_duration_s,
        "views_per_visit": response.views_per_visit,
    }


def goals_json(response: pb.GetGoalsResponse) -> dict[str, object]:
    return {
        **span(response),
        "goals": [
            {
                "goal": g.goal,
                "visitors": g.visitors,
                "events": g.events,
                "conversion_rate": g.conversion_rate,
            }
            for g in response.goals
        ],
    }


def funnel_json(response: pb.GetFunnelResponse) -> dict[str, object]:
    return {
        **span(response),
        "steps": [
            {
                "goal": s.goal,
                "visitors": s.visitors,
                "conversion_rate": s.conversion_rate,
                "dropoff": s.dropoff,
            }
            for s in response.steps
        ],
    }


def realtime_json(response: pb.GetRealtimeResponse) -> dict[str, object]:
    return {
        "visitors": response.visitors,
        "events": response.events,
        "pages": [{"page_url": p.page_url, "visitors": p.visitors} for p in response.pages],
    }
