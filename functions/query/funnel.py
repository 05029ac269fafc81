"""The funnel (DESIGN.md "Visits and reports"): a visitor reaches step n when one visit holds
steps 1..n in that order, each in a later event than the step before. One statement: each
visit's step events, in time order, become a path of tokens `<...>` naming the steps each
event is (`<13>`: steps 1 and 3), and step n is reached when the path matches
`<[^>]*1[^>]*>.*<[^>]*2[^>]*>...` up to n (`[^>]*` keeps each step within one token).

Each step event finds its visit in one sort: the step events and the window's visits, as rows
of one relation ordered by (visit key, time), the visits first at a tie; an event's visit is
the last visit row before it (a key's visits never overlap), carried forward by a window
pass. A join on the visit key compared every event with every visit of its key: quadratic in
a returning visitor's visits (over 1M events, 12.7M pairs rejected for 369,000 step events).
Measured over 1M events (30 days of the reports' benchmark workload, its 4-step funnel),
median of 4 interleaved reads on PostgreSQL directly: 2,935 ms, against 4,288 ms for the
join."""

from __future__ import annotations

from clickstream.analytics.v1 import analytics_pb2 as pb

from functions.core.goals import MAX_STEPS, Goal
from functions.query.filters import VISIT_KEY, Query
from functions.query.parts import Connection

assert MAX_STEPS <= 9  # a step is one digit of its token


def _reached(n: int) -> str:
    """The pattern of a path holding steps 1..n in order, each in a token of its own."""
    return ".*".join(f"<[^>]*{k}[^>]*>" for k in range(1, n + 1))


def _statement(query: Query, steps: tuple[Goal, ...]) -> tuple[str, list[object]]:
    conditions = [step.condition() for step in steps]
    token = " || ".join(
        f"CASE WHEN {sql} THEN '{n}' ELSE '' END" for n, (sql, _) in enumerate(conditions, 1)
    )
    any_step = " OR ".join(f"({sql})" for sql, _ in conditions)
    step_params = [value for _, bound in conditions for value in bound]
    where, where_params = query.events_where()
    window = query.window
    counts = ", ".join("count(DISTINCT user_id) FILTER (WHERE path ~ %s)" for _ in steps)
    # The visits overlapping the window hold every visit of a window's event, so the last
    # one before an event is its own (and its end, the latest end so far, bounds it: an
    # event whose visit is not written yet has none). A visit's user is the person whose
    # visit it is: a key's visits are all one user's (its user, or its session's).
    sql = f"""SELECT {counts} FROM (
        SELECT max(visit_user) AS user_id,
               string_agg(token, '' ORDER BY time_stamp, event_id) AS path
        FROM (
            SELECT *, max(CASE WHEN kind = 0 THEN time_stamp END) OVER w AS visit_start,
                      max(ended_at) OVER w AS visit_end,
                      max(CASE WHEN kind = 0 THEN user_id END) OVER w AS visit_user
            FROM (
                SELECT {VISIT_KEY} AS visit_key,
                       e.time_stamp, 1 AS kind, e.event_id, NULL::text AS user_id,
                       NULL::timestamptz AS ended_at, '<' || {token} || '>' AS token
                FROM click_events e
                WHERE e.site = %s AND e.time_stamp >= %s AND e.time_stamp < %s
                  AND ({any_step}) AND {where}
                UNION ALL
                SELECT v.visit_key, v.started_at, 0, NULL, v.user_id, v.ended_at, NULL
                FROM visits v WHERE v.site = %s AND v.started_at < %s AND v.ended_at >= %s
            ) AS rows
            WINDOW w AS (PARTITION BY visit_key ORDER BY time_stamp, kind
                         ROWS UNBOUNDED PRECEDING)
        ) AS placed
        WHERE kind = 1 AND time_stamp <= visit_end
        GROUP BY visit_key, visit_start
    ) AS visits"""
    params = [
        *(_reached(n) for n in range(1, len(steps) + 1)),
        *step_params,
        window.site,
        window.start,
        window.end,
        *step_params,
        *where_params,
        window.site,
        window.end,
        window.start,
    ]
    return sql, params


async def funnel(conn: Connection, query: Query, steps: tuple[Goal, ...]) -> list[pb.FunnelStep]:
    sql, params = _statement(query, steps)
    # PostgreSQL's default work_mem: 64 MB did not make it faster (over the 1M events above,
    # 4 interleaved reads each: median 3,635 ms against 3,382 ms at 4 MB)
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
