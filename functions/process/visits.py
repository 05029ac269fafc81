"""Visits (DESIGN.md: "Visits and reports"), kept by the statement that stores the events.

A visit is a pure function of the stored events, so the statement recomputes, rather than
patches, the visits of exactly the keys its newly inserted events touch: a redelivered event
inserts nothing, touches nothing and so changes nothing. `VISITS_CTES` continues the WITH
list of `functions.process.store` after its `arriving` CTE (the events about to be stored),
and ends in `event_visits`: the start of the visit of each event it placed, which the new
events are stored with (migration 0020) and the stored ones it moved are updated to.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from functions.core.events import ClickEvent

# A visit key: 's:' || session_id, or 'u:' || user_id for the events without a session.
# Ordered by (time_stamp, event_id), so that ties are decided the same way every time.
#
# Every CTE sees the snapshot taken when the statement started, without its own insert:
# `pooled` therefore adds the new events to the stored ones. The upsert and the delete touch
# disjoint keys (a statement must not delete and insert one row), and both only rows of keys
# whose advisory locks (`LOCK_VISITS`) this transaction holds.

# the columns of a stored visit that recomputing it needs
_VISIT_COLUMNS = """started_at, ended_at, user_id, events, entry_page, exit_page,
           referrer_host, utm_source, utm_medium, utm_campaign, browser, os, device, country"""
VISITS_CTES = f"""
, arrived AS (  -- the new events with their visit key (`lock_buckets` hashes the same key)
    SELECT *, COALESCE('s:' || session_id, 'u:' || user_id) AS visit_key FROM arriving
), clustered AS (
    -- a user's new events over an hour apart cannot share a visit or touch the same ones:
    -- each run of them closer than that is a cluster with a span of its own, so a group
    -- whose events of one user lie days apart (a bulk load, a replay) recomputes the hours
    -- around them, not the days between
    SELECT *, sum(apart) OVER (PARTITION BY site, visit_key ORDER BY time_stamp, event_id)
              AS cluster
    FROM (SELECT *, CASE WHEN session_id IS NULL
                          AND time_stamp - lag(time_stamp) OVER (
                                  PARTITION BY site, visit_key ORDER BY time_stamp, event_id)
                              > interval '60 minutes'
                         THEN 1 ELSE 0 END AS apart
          FROM arrived) AS a
), touched AS (
    -- each cluster and the times its visits may change in: a session is one visit, whatever
    -- its gaps; a user's event reaches 30 minutes either side
    SELECT site, visit_key, cluster, min(session_id) AS session_id,
           CASE WHEN min(session_id) IS NULL THEN min(user_id) END AS user_id,
           CASE WHEN min(session_id) IS NULL
                THEN min(time_stamp) - interval '30 minutes' ELSE '-infinity' END AS lo,
           CASE WHEN min(session_id) IS NULL
                THEN max(time_stamp) + interval '30 minutes' ELSE 'infinity' END AS hi
    FROM clustered GROUP BY site, visit_key, cluster
), old_visits AS (
    -- the stored visits overlapping [lo, hi]: as a key's visits never overlap, the last one
    -- starting before lo (if it reaches lo), and those starting in it; two index probes, not
    -- a scan of a long-lived user's history. The bounds are compared as (visit_key,
    -- started_at) rows, which only the primary key can use: a plain started_at bound lets the
    -- planner, when its statistics are poor (the table new, autovacuum off), pick
    -- visits_site_started and read every visit of the site in the span, for each key.
    SELECT t.site, t.visit_key, t.cluster, v.*
    FROM touched AS t CROSS JOIN LATERAL (
        (SELECT {_VISIT_COLUMNS} FROM visits
         WHERE site = t.site AND visit_key = t.visit_key
           AND (visit_key, started_at) < (t.visit_key, t.lo)
         ORDER BY started_at DESC LIMIT 1)
        UNION ALL
        SELECT {_VISIT_COLUMNS} FROM visits
        WHERE site = t.site AND visit_key = t.visit_key
          AND (visit_key, started_at) >= (t.visit_key, t.lo)
          AND (visit_key, started_at) <= (t.visit_key, t.hi)
    ) AS v
    WHERE v.ended_at >= t.lo
), placed AS (
    -- where each new event falls among its cluster's stored visits: strictly inside one
    -- (a late event), or after them all (a visitor clicking on, the common case)
    SELECT c.site, c.visit_key, c.event_id,
           coalesce(bool_or(o.started_at < c.time_stamp AND c.time_stamp < o.ended_at), false)
               AS inside,
           coalesce(bool_and(o.ended_at < c.time_stamp), true) AS after
    FROM clustered AS c LEFT JOIN old_visits AS o USING (site, visit_key, cluster)
    GROUP BY c.site, c.visit_key, c.event_id
), in_order AS (
    -- the keys whose every new event is one or the other: their stored visits are taken as
    -- stored, each as its first and last event (`pooled`), not read again event by event,
    -- so a visit of thousands of events (a busy user, a long session) costs what one of two
    -- does. An event inside a visit joins it, as the stored events around it are at most
    -- 30 minutes apart; one after them extends the last or starts a visit of its own.
    SELECT site, visit_key FROM placed GROUP BY site, visit_key HAVING bool_and(inside OR after)
), kept AS (  -- the in-order keys' stored visits, once each (two clusters may reach one)
    SELECT DISTINCT ON (o.site, o.visit_key, o.started_at) o.*
    FROM old_visits AS o JOIN in_order USING (site, visit_key)
), widened AS (
    -- each other key's clusters' spans, widened to hold those visits whole: each end then
    -- lies in a gap of over 30 minutes that no new event falls in, so sessionizing the span
    -- alone gives whole visits
    SELECT t.site, t.visit_key, t.session_id, t.user_id,
           least(t.lo, min(o.started_at)) AS lo, greatest(t.hi, max(o.ended_at)) AS hi
    FROM touched AS t LEFT JOIN old_visits AS o USING (site, visit_key, cluster)
    WHERE NOT EXISTS (SELECT FROM in_order AS i
                      WHERE (i.site, i.visit_key) = (t.site, t.visit_key))
    GROUP BY t.site, t.visit_key, t.cluster, t.session_id, t.user_id, t.lo, t.hi
), spans AS (
    -- one key's widened spans that overlap (a long visit reaching two clusters) become one,
    -- so that no stored event is pooled twice
    SELECT site, visit_key, session_id, user_id, min(lo) AS lo, max(hi) AS hi
    FROM (SELECT *, sum(starts) OVER (PARTITION BY site, visit_key ORDER BY lo, hi) AS island
          FROM (SELECT *, CASE WHEN lo <= max(hi) OVER (
                                   PARTITION BY site, visit_key ORDER BY lo, hi
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                               THEN 0 ELSE 1 END AS starts
                FROM widened) AS w) AS i
    GROUP BY site, visit_key, session_id, user_id, island
), pooled AS (
    -- every event of the spans, the stored ones and the new ones, each `weight` one event;
    -- and the kept visits as their first event (`part` 0, before any event of its time) and
    -- their last, which stands for all the others. A `joined` row is in the visit of the row
    -- before it, however long ago that was: a kept visit's last, and an event inside a
    -- stored visit (whose stored events, when read, leave no gap over 30 minutes anyway).
    -- `stored`: an event read back, whose visit start may have moved
    SELECT s.site, s.visit_key, c.event_id, c.user_id, c.page_url, c.time_stamp,
           c.referrer_host, c.utm_source, c.utm_medium, c.utm_campaign,
           c.browser, c.os, c.device, c.country, 1 AS part, 1 AS weight, false AS joined,
           true AS stored, c.visit_started_at
    FROM spans AS s JOIN click_events AS c ON c.site = s.site AND c.session_id = s.session_id
    UNION ALL
    SELECT s.site, s.visit_key, c.event_id, c.user_id, c.page_url, c.time_stamp,
           c.referrer_host, c.utm_source, c.utm_medium, c.utm_campaign,
           c.browser, c.os, c.device, c.country, 1, 1, false, true, c.visit_started_at
    FROM spans AS s JOIN click_events AS c
      ON c.site = s.site AND c.user_id = s.user_id AND c.session_id IS NULL
     AND c.time_stamp BETWEEN s.lo AND s.hi
    UNION ALL
    SELECT a.site, a.visit_key, a.event_id, a.user_id, a.page_url, a.time_stamp,
           a.referrer_host, a.utm_source, a.utm_medium, a.utm_campaign,
           a.browser, a.os, a.device, a.country, 1, 1, p.inside, false, NULL
    FROM arrived AS a JOIN placed AS p USING (site, visit_key, event_id)
    UNION ALL
    SELECT site, visit_key, NULL, user_id, entry_page, started_at, referrer_host,
           utm_source, utm_medium, utm_campaign, browser, os, device, country, 0, 1, false,
           false, NULL
    FROM kept
    UNION ALL
    SELECT site, visit_key, NULL, user_id, exit_page, ended_at,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, events - 1, true, false, NULL
    FROM kept WHERE events > 1
), marked AS (  -- a user's event over 30 minutes after the previous one starts a visit
    SELECT *, CASE WHEN left(visit_key, 2) = 'u:' AND NOT joined
                    AND time_stamp - lag(time_stamp) OVER w > interval '30 minutes'
                   THEN 1 ELSE 0 END AS starts
    FROM pooled WINDOW w AS (PARTITION BY site, visit_key ORDER BY time_stamp, part, event_id)
), numbered AS (
    SELECT *, sum(starts) OVER (PARTITION BY site, visit_key
                                ORDER BY time_stamp, part, event_id) AS visit
    FROM marked
), fresh AS (  -- the visits as the events now stand: each one's first row, with its totals
    SELECT DISTINCT ON (site, visit_key, visit)
           site, visit_key, visit, time_stamp AS started_at,
           last_value(time_stamp) OVER v AS ended_at, user_id, sum(weight) OVER v AS events,
           page_url AS entry_page, last_value(page_url) OVER v AS exit_page,
           referrer_host, utm_source, utm_medium, utm_campaign, browser, os, device, country
    FROM numbered
    WINDOW v AS (PARTITION BY site, visit_key, visit ORDER BY time_stamp, part, event_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
    ORDER BY site, visit_key, visit, time_stamp, part, event_id
), visits_up AS (  -- a visit that stayed as it was is neither written nor reported
    INSERT INTO visits AS t (site, visit_key, started_at, ended_at, user_id, events,
                             entry_page, exit_page, referrer_host, utm_source, utm_medium,
                             utm_campaign, browser, os, device, country)
    SELECT site, visit_key, started_at, ended_at, user_id, events, entry_page, exit_page,
           referrer_host, utm_source, utm_medium, utm_campaign, browser, os, device, country
    FROM fresh ORDER BY site, visit_key, started_at
    ON CONFLICT (site, visit_key, started_at) DO UPDATE
    SET ended_at = EXCLUDED.ended_at, user_id = EXCLUDED.user_id, events = EXCLUDED.events,
        entry_page = EXCLUDED.entry_page, exit_page = EXCLUDED.exit_page,
        referrer_host = EXCLUDED.referrer_host, utm_source = EXCLUDED.utm_source,
        utm_medium = EXCLUDED.utm_medium, utm_campaign = EXCLUDED.utm_campaign,
        browser = EXCLUDED.browser, os = EXCLUDED.os, device = EXCLUDED.device,
        country = EXCLUDED.country
    WHERE (t.ended_at, t.user_id, t.events, t.entry_page, t.exit_page, t.referrer_host,
           t.utm_source, t.utm_medium, t.utm_campaign, t.browser, t.os, t.device, t.country)
          IS DISTINCT FROM
          (EXCLUDED.ended_at, EXCLUDED.user_id, EXCLUDED.events, EXCLUDED.entry_page,
           EXCLUDED.exit_page, EXCLUDED.referrer_host, EXCLUDED.utm_source,
           EXCLUDED.utm_medium, EXCLUDED.utm_campaign, EXCLUDED.browser, EXCLUDED.os,
           EXCLUDED.device, EXCLUDED.country)
    RETURNING site, visit_key, started_at, ended_at
), visits_gone AS (  -- merged into another, or started at another time now
    DELETE FROM visits AS t USING old_visits AS o
    WHERE (t.site, t.visit_key, t.started_at) = (o.site, o.visit_key, o.started_at)
      AND NOT EXISTS (SELECT FROM fresh AS f
                      WHERE (f.site, f.visit_key, f.started_at)
                            = (o.site, o.visit_key, o.started_at))
    RETURNING t.site, t.started_at, t.ended_at
), visit_starts AS (  -- the old and new start of every visit changed: its reports' ranges
    SELECT site, started_at FROM visits_up UNION SELECT site, started_at FROM visits_gone
), event_visits AS (  -- each event placed, and the start of the visit it now is in
    SELECT n.site, n.event_id, n.time_stamp, n.stored, f.started_at AS visit_started_at
    FROM numbered AS n JOIN fresh AS f USING (site, visit_key, visit)
    WHERE n.event_id IS NOT NULL
      AND (NOT n.stored OR n.visit_started_at IS DISTINCT FROM f.started_at)
), events_moved AS (  -- the stored events whose visit now starts at another time
    UPDATE click_events AS c SET visit_started_at = m.visit_started_at
    FROM event_visits AS m
    WHERE m.stored AND (c.site, c.event_id, c.time_stamp) = (m.site, m.event_id, m.time_stamp)
)"""

# Two transactions writing events of one key at once would each recompute its visits blind
# to the other's uncommitted events, and split a visit: a writer first takes a transaction
# lock per key it may touch, in one order (no deadlocks), in a statement before the write's
# (whose snapshot, taken when it starts, then holds every earlier holder's commit). Keys are
# hashed into a bounded number of locks, as PostgreSQL's shared lock table is sized for 64
# locks per connection: at most that many per transaction, whatever a group (or a bulk load)
# holds; an unrelated key sharing a lock only waits, and writers already queue on the hot
# roll-up rows every group updates.
# the first half of pg_advisory_xact_lock(int, int)'s key ('visi'): a key space of its own,
# apart from the migrator's bigint key
_LOCK_CLASS = 0x76697369
LOCK_BUCKETS = 64
LOCK_VISITS = "SELECT pg_advisory_xact_lock(%s, b) FROM unnest(%s::int[]) AS b"


def lock_buckets(events: Iterable[ClickEvent]) -> list[int]:
    """The locks, in order, of the visit keys of `events` (`arrived`'s keys)."""
    keys = {
        (e.site, "u:" + e.user_id if e.session_id is None else "s:" + e.session_id) for e in events
    }
    # crc32: the same on every replica, unlike hash() of a str
    return sorted({zlib.crc32(f"{site}\x1f{key}".encode()) % LOCK_BUCKETS for site, key in keys})


def lock_parameters(events: Iterable[ClickEvent]) -> tuple[int, list[int]]:
    """`LOCK_VISITS`'s parameters for `events`."""
    return _LOCK_CLASS, lock_buckets(events)
