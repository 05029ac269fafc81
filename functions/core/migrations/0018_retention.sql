-- Retention (docs/lifecycle.md: "Retention"): raw events partitioned by site, then by time,
-- so that a site's old raw events go as whole partitions (a DROP, not a DELETE scan) while
-- the roll-ups and visits, tables of their own, keep every report over them.
--
-- click_events is LIST-partitioned by site. Its DEFAULT partition, click_events_kept, holds
-- every site that keeps its raw events (the default), RANGE-partitioned by month; a site
-- given a retention gets a partition of its own, RANGE-partitioned by week
-- (functions/core/retention.py). pg_partman makes the time partitions ahead and drops the
-- expired ones; each range tree has a DEFAULT partition too, so that an insert of any time
-- finds a partition. A partitioned table's primary key must hold the partition keys, so
-- click_events' key is (site, event_id, time_stamp); the idempotency key stays (site,
-- event_id), held by the narrow unpartitioned table event_keys below, which every write
-- inserts into first (functions/process/store.py): a retry stamped with another time by
-- ingest (a client resending without its own time_stamp) is still one event.
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;
-- partman names and bounds partitions in the session's time zone: UTC, as every bucket is
SET LOCAL TIME ZONE 'UTC';

-- the stored events move into the new tree; renamed, the old table frees its name, and its
-- indexes, dropped, free theirs (the copy needs none)
ALTER TABLE click_events RENAME TO click_events_unpartitioned;
DROP INDEX IF EXISTS click_events_site_time_user;
DROP INDEX IF EXISTS click_events_site_user_time;
DROP INDEX IF EXISTS click_events_site_session_time;

-- the same columns, defaults and NOT NULLs, in the same order (so that the copy below is
-- SELECT *), keyed as a partitioned table must be
CREATE TABLE click_events (
    LIKE click_events_unpartitioned INCLUDING DEFAULTS,
    PRIMARY KEY (site, event_id, time_stamp)
) PARTITION BY LIST (site);
CREATE TABLE click_events_kept PARTITION OF click_events DEFAULT PARTITION BY RANGE (time_stamp);

-- monthly from the oldest stored month, so that the stored events land in partitions of
-- their own rather than all in the tree's DEFAULT; infinite: partitions are made ahead even
-- while no event arrives (else partman waits for data near the newest one)
SELECT partman.create_parent(
    current_schema() || '.click_events_kept', 'time_stamp', 'native', 'monthly',
    p_premake := 2,
    p_start_partition := (SELECT to_char(date_trunc('month', coalesce(min(time_stamp), now())),
                                         'YYYY-MM-DD HH24:MI:SS')
                          FROM click_events_unpartitioned));
UPDATE partman.part_config SET infinite_time_partitions = true
WHERE parent_table = current_schema() || '.click_events_kept';

-- (site, event_id, time_stamp) of every stored event, kept as long as its raw event: a write
-- stores the raw events whose key it inserted here; retention deletes the keys older than
-- what it dropped, by the (site, time_stamp) index (functions/core/retention.py)
CREATE TABLE event_keys (
    site       text NOT NULL,
    event_id   text NOT NULL,
    time_stamp timestamptz NOT NULL,
    PRIMARY KEY (site, event_id)
);
INSERT INTO event_keys (site, event_id, time_stamp)
SELECT site, event_id, time_stamp FROM click_events_unpartitioned;
CREATE INDEX event_keys_site_time ON event_keys (site, time_stamp);

INSERT INTO click_events SELECT * FROM click_events_unpartitioned;
DROP TABLE click_events_unpartitioned;

-- the indexes of migrations 0010 and 0012, on every partition, built after the copy
CREATE INDEX click_events_site_time_user ON click_events (site, time_stamp, user_id);
CREATE INDEX click_events_site_user_time ON click_events (site, user_id, time_stamp);
CREATE INDEX click_events_site_session_time
    ON click_events (site, session_id, time_stamp) WHERE session_id IS NOT NULL;

-- A site's retention of raw events (null: kept for ever), and the time before which its raw
-- events and their keys may be gone: the hours before it are sealed, their report roll-ups
-- never rebuilt from raw events again, and an event older than it is no longer stored.
-- `id` names the site's partition (a site name is no identifier).
ALTER TABLE sites ADD COLUMN IF NOT EXISTS id bigint GENERATED ALWAYS AS IDENTITY UNIQUE;
ALTER TABLE sites ADD COLUMN IF NOT EXISTS raw_retention interval
    CHECK (raw_retention >= interval '1 day');
ALTER TABLE sites ADD COLUMN IF NOT EXISTS raw_dropped_before timestamptz;
