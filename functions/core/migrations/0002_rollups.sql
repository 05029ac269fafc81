-- Roll-ups for reads over long ranges: a range is cut into whole days, whole hours and
-- loose minutes (functions/core/spans.py), each summed from the table of its grain, so a
-- 30-day view reads ~30 day rows + ~46 hour rows + ~118 minute rows per key, never raw events.
-- `process` maintains them in its one write statement, for newly inserted events only.

-- Events per page per hour and per day (minutes stay in page_minute_counts).
CREATE TABLE IF NOT EXISTS page_rollups (
    grain    text NOT NULL CHECK (grain IN ('hour', 'day')),
    bucket   timestamptz NOT NULL,
    page_url text NOT NULL,
    count    bigint NOT NULL,
    PRIMARY KEY (grain, bucket, page_url)
);
-- one page's series (GetTimeSeries with page_url)
CREATE INDEX IF NOT EXISTS page_rollups_page ON page_rollups (page_url, grain, bucket);
CREATE INDEX IF NOT EXISTS page_minute_counts_page ON page_minute_counts (page_url, bucket);

-- All events per minute, hour and day: totals and series without scanning per-page rows.
CREATE TABLE IF NOT EXISTS total_rollups (
    grain  text NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
    bucket timestamptz NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (grain, bucket)
);

-- Distinct users: a HyperLogLog register set (precision 12, 4,096 registers, 1.6 % standard
-- error) per hour and per day; a range merges its spans' registers (max rank per register).
CREATE TABLE IF NOT EXISTS user_hll (
    grain    text NOT NULL CHECK (grain IN ('hour', 'day')),
    bucket   timestamptz NOT NULL,
    register smallint NOT NULL,
    rank     smallint NOT NULL,
    PRIMARY KEY (grain, bucket, register)
);

-- The hash: md5's first 64 bits; register = the first 12, rank = position of the first 1
-- in the other 52 (53 when none). Mirrored by functions/query/hll.py.
CREATE OR REPLACE FUNCTION hll_register(user_id text) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT substring(('x' || md5(user_id))::bit(64) FROM 1 FOR 12)::int::smallint $$;

CREATE OR REPLACE FUNCTION hll_rank(user_id text) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT coalesce(nullif(position(B'1' IN substring(('x' || md5(user_id))::bit(64)
                                                         FROM 13)), 0), 53)::smallint $$;

-- Backfill from events stored before this migration.
INSERT INTO page_rollups (grain, bucket, page_url, count)
SELECT g.grain, date_trunc(g.grain, e.time_stamp, 'UTC'), e.page_url, count(*)
FROM click_events e CROSS JOIN (VALUES ('hour'), ('day')) AS g(grain)
GROUP BY 1, 2, 3
ON CONFLICT DO NOTHING;

INSERT INTO total_rollups (grain, bucket, count)
SELECT g.grain, date_trunc(g.grain, e.time_stamp, 'UTC'), count(*)
FROM click_events e CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS g(grain)
GROUP BY 1, 2
ON CONFLICT DO NOTHING;

INSERT INTO user_hll (grain, bucket, register, rank)
SELECT g.grain, date_trunc(g.grain, e.time_stamp, 'UTC'), hll_register(e.user_id),
       max(hll_rank(e.user_id))
FROM click_events e CROSS JOIN (VALUES ('hour'), ('day')) AS g(grain)
GROUP BY 1, 2, 3
ON CONFLICT DO NOTHING;
