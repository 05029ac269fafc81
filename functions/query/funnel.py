"""The funnel (DESIGN.md "Visits and reports"): a visitor reaches step n when one visit holds
steps 1..n in that order. One statement, linear in the step events of the range: each
visit's step events numbered in time order, then one window pass per step finds, per visit,
the first event of that step after the one found for the step before."""

from __future__ import annotations

from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.goals import Goal
from functions.query.filters import VISIT_OF_EVENT, Query
from functions.query.parts import Connection

_VISIT = "WINDOW visit AS (PARTITION BY visit_key, started_at)"


def _statement(query: Query, steps: tuple[Goal, ...]) -> tuple[str, list[object]]:
    conditions = [step.condition() for step in steps]
    flags = ", ".join(f"({sql}) AS s{n}" for n, (sql, _) in enumerate(conditions, 1))
    any_step = " OR ".join(f"({sql})" for sql, _ in conditions)
    step_params = [value for _, bound in conditions for value in bound]
    where, where_params = query.events_where()
    window = query.window
    # the visit's own user: a visitor is the person whose visit it is
    source = f"""(SELECT v.visit_key, v.started_at, v.user_id, {flags},
                         row_number() OVER (PARTITION BY v.visit_key, v.started_at
                                            ORDER BY e.time_stamp, e.event_id) AS pos
                  FROM click_events e JOIN visits v ON {VISIT_OF_EVENT}
                  WHERE e.site = %s AND e.time_stamp >= %s AND e.time_stamp < %s
                    AND ({any_step}) AND {where}) AS marked"""
    for n in range(1, len(steps) + 1):
        after = "true" if n == 1 else f"pos > t{n - 1}"  # unreached before: NULL, so never
        source = f"""(SELECT *, min(pos) FILTER (WHERE s{n} AND {after}) OVER visit AS t{n}
                      FROM {source} {_VISIT}) AS reached{n}"""
    counts = ", ".join(
        f"count(DISTINCT user_id) FILTER (WHERE t{n} IS NOT NULL)" for n in range(1, len(steps) + 1)
    )
    params = [*step_params, window.site, window.start, window.end, *step_params, *where_params]
    return f"SELECT {counts} FROM {source}", params


async def funnel(conn: Connection, query: Query, steps: tuple[Goal, ...]) -> list[pb.FunnelStep]:
    sql, params = _statement(query, steps)
    cursor = await conn.execute(sql, params)
    row = await cursor.fetchone()
    assert row is not None  # an aggregate without GROUP BY answers one row
    first = row[0]
    return [
        pb.FunnelStep(
            goal=step.text,
            visitors=reached,
            conversion_rate=reached / first if first else 0.0,
            dropoff=(row[n - 1] - reached) if n else 0,
        )
        for n, (step, reached) in enumerate(zip(steps, row, strict=True))
    ]
