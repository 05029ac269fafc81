"""The funnel (DESIGN.md "Visits and reports"): a visitor reaches step n when one visit holds
steps 1..n in that order, each in a later event than the step before. One statement: each
visit's step events, in time order, become a path of tokens `<...>` naming the steps each
event is (`<13>`: steps 1 and 3), and step n is reached when the path matches
`<[^>]*1[^>]*>.*<[^>]*2[^>]*>...` up to n (`[^>]*` keeps each step within one token).

Each step event names its visit (migration 0020), so the paths are one GROUP BY; only each
path's visit is read, by its primary key, for the person whose visit it is. Measured over 1M
events (30 days of the reports' benchmark workload, its 4-step funnel: 369,000 step events
in 157,000 visits) on PostgreSQL directly, 3 reads each: 2.3 s when each event's visit had
to be found among the window's visits (one sort of both), 1.5 s now."""

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
    counts = ", ".join(f"count(*) FILTER (WHERE furthest >= {n})" for n in range(1, len(steps) + 1))
    # how far each path goes, testing steps 1, 2, ... until one is missing (a path that
    # misses step 1, the commonest, costs one match, not one per step); OFFSET 0 keeps it
    # computed once per path, not again where it is compared
    reached = " ".join(f"WHEN path !~ %s THEN {n - 1}" for n in range(1, len(steps) + 1))
    # A visit's user is the person whose visit it is: a key's visits are all one user's (its
    # user, or its session's first event's); a person reaches as far as their furthest
    # visit. An event in no visit (stored before visits were kept) is in no funnel.
    sql = f"""SELECT {counts} FROM (
        SELECT v.user_id, max(p.reached) AS furthest
        FROM (
            SELECT visit_key, visit_started_at, CASE {reached} ELSE {len(steps)} END AS reached
            FROM (
                SELECT {VISIT_KEY} AS visit_key, e.visit_started_at,
                       string_agg('<' || {token} || '>', '' ORDER BY e.time_stamp, e.event_id)
                           AS path
                FROM click_events e
                WHERE e.site = %s AND e.time_stamp >= %s AND e.time_stamp < %s
                  AND e.visit_started_at IS NOT NULL AND ({any_step}) AND {where}
                GROUP BY 1, 2
            ) AS paths
            OFFSET 0
        ) AS p
        JOIN visits v ON v.site = %s AND v.visit_key = p.visit_key
                     AND v.started_at = p.visit_started_at
        WHERE p.reached > 0
        GROUP BY v.user_id
    ) AS people"""
    params = [
        *(_reached(n) for n in range(1, len(steps) + 1)),
        *step_params,
        window.site,
        window.start,
        window.end,
        *step_params,
        *where_params,
        window.site,
    ]
    return sql, params


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
