"""The funnel (DESIGN.md "Visits and reports"): a visitor reaches step n when one visit holds
steps 1..n in that order. One statement: each visit's step events numbered in time order,
then per visit the first event of step 1, the first of step 2 after it, and so on."""

from __future__ import annotations

from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.goals import Goal
from functions.query.filters import VISIT_OF_EVENT, Query
from functions.query.parts import Connection


def _statement(query: Query, steps: tuple[Goal, ...]) -> tuple[str, list[object]]:
    flags: list[str] = []
    flag_params: list[object] = []
    for n, step in enumerate(steps, 1):
        condition, bound = step.condition()
        flags.append(f"({condition}) AS s{n}")
        flag_params += bound
    any_step = " OR ".join(f"({step.condition()[0]})" for step in steps)
    any_params = [value for step in steps for value in step.condition()[1]]
    where, where_params = query.events_where()
    window = query.window
    # the visit's own user: a visitor is the person whose visit it is
    reached = [
        """r1 AS (SELECT visit_key, started_at, user_id, min(pos) AS pos FROM marked
                  WHERE s1 GROUP BY 1, 2, 3)"""
    ]
    for n in range(2, len(steps) + 1):
        reached.append(
            f"""r{n} AS (SELECT r.visit_key, r.started_at, r.user_id, min(m.pos) AS pos
                   FROM r{n - 1} r JOIN marked m
                     ON m.visit_key = r.visit_key AND m.started_at = r.started_at
                   WHERE m.s{n} AND m.pos > r.pos GROUP BY 1, 2, 3)"""
        )
    counts = ", ".join(
        f"(SELECT count(DISTINCT user_id) FROM r{n})" for n in range(1, len(steps) + 1)
    )
    sql = f"""WITH marked AS (
            SELECT v.visit_key, v.started_at, v.user_id, {", ".join(flags)},
                   row_number() OVER (PARTITION BY v.visit_key, v.started_at
                                      ORDER BY e.time_stamp, e.event_id) AS pos
            FROM click_events e JOIN visits v ON {VISIT_OF_EVENT}
            WHERE e.site = %s AND e.time_stamp >= %s AND e.time_stamp < %s
              AND ({any_step}) AND {where}
        ), {", ".join(reached)}
        SELECT {counts}"""
    params = [*flag_params, window.site, window.start, window.end, *any_params, *where_params]
    return sql, params


async def funnel(conn: Connection, query: Query, steps: tuple[Goal, ...]) -> list[pb.FunnelStep]:
    sql, params = _statement(query, steps)
    cursor = await conn.execute(sql, params)
    row = await cursor.fetchone()
    assert row is not None  # scalar subqueries: one row
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
