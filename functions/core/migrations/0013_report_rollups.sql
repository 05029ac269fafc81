-- Report roll-ups (issue 24): the unfiltered breakdowns and visit KPIs of closed hours and days,
-- built OFF the write path by the roller (functions/process/roller.py), which `process` runs
-- in the background. Writing per-value sketches inside the write statement cost 230-300 us per
-- event; the write now only bumps one version per hour it touches.

-- Every dimension of the registry (functions/query/dimensions.py) in one table. Event-level
-- rows: the bucket's events with that value, sketches of their users and of their visits'
-- ids; visit-level rows (entry_page, exit_page, and dimension '' value '' for every visit:
-- the visit KPIs): the visits STARTED in the bucket, their events, users, ids, bounces and
-- summed durations. `prop:<key>` is not rolled up: its keys are open-ended.
CREATE TABLE IF NOT EXISTS report_rollups (
    site       text NOT NULL,
    grain      text NOT NULL CHECK (grain IN ('hour', 'day')),
    bucket     timestamptz NOT NULL,
    dimension  text NOT NULL,
    value      text NOT NULL,
    events     bigint NOT NULL,
    visitors   hll(14, 5, -1, 1) NOT NULL,
    visits     hll(14, 5, -1, 1) NOT NULL,
    bounces    bigint NOT NULL,
    duration_s float8 NOT NULL,
    PRIMARY KEY (site, grain, bucket, dimension, value)
);

-- One counter per (site, hour), bumped by process's write statement for every hour holding a
-- newly inserted event and every hour spanned by a visit it inserted, changed or deleted:
-- what a roll-up of that hour (or its day) was built from has changed. Counters only grow.
CREATE TABLE IF NOT EXISTS rollup_versions (
    site    text NOT NULL,
    bucket  timestamptz NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (site, bucket)
);

-- What each stored roll-up was built at: an hour's version, or for a day the sum of its 24
-- hours' versions (which moves iff one of them moved). A roll-up is read only while this
-- equals the current version; otherwise its bucket is read from raw events and visits.
CREATE TABLE IF NOT EXISTS rollup_builds (
    site    text NOT NULL,
    grain   text NOT NULL CHECK (grain IN ('hour', 'day')),
    bucket  timestamptz NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (site, grain, bucket)
);

-- Events stored before this migration: every hour holding one is pending for the roller.
-- SHARE on click_events keeps writers out meanwhile: no event lands between backfill and commit.
LOCK TABLE click_events IN SHARE MODE;
INSERT INTO rollup_versions (site, bucket, version)
SELECT site, date_trunc('hour', time_stamp, 'UTC'), 1 FROM click_events GROUP BY 1, 2
ON CONFLICT DO NOTHING;
