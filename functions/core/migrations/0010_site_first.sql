-- Sites (DESIGN.md: "Sites and enrichment"): every table holding events or aggregates gets a
-- `site` column and leads its keys with it, so that every read is a prefix scan of one
-- site's rows and the tables can be distributed by site (docs/scaling.md: Citus).
-- Existing rows belong to `default`. Adding a NOT NULL column with a constant default
-- rewrites nothing (PostgreSQL 11+); rebuilding the keys reads each table once. The default
-- stays so that a seed-compatible insert that names no site still lands in `default`.
-- Writers hold SHARE on click_events meanwhile, so no commit sees half the new keys.
LOCK TABLE click_events IN SHARE MODE;

ALTER TABLE click_events ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE click_events DROP CONSTRAINT IF EXISTS click_events_pkey;
-- the idempotency key is per site: a site cannot suppress another's events by reusing ids
ALTER TABLE click_events ADD PRIMARY KEY (site, event_id);
DROP INDEX IF EXISTS click_events_time_user;
DROP INDEX IF EXISTS click_events_user_time;
CREATE INDEX IF NOT EXISTS click_events_site_time_user ON click_events (site, time_stamp, user_id);
CREATE INDEX IF NOT EXISTS click_events_site_user_time ON click_events (site, user_id, time_stamp);

ALTER TABLE page_clicks ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE page_clicks DROP CONSTRAINT IF EXISTS page_clicks_pkey;
ALTER TABLE page_clicks ADD PRIMARY KEY (site, user_id, page_url);

ALTER TABLE page_minute_counts ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE page_minute_counts DROP CONSTRAINT IF EXISTS page_minute_counts_pkey;
ALTER TABLE page_minute_counts ADD PRIMARY KEY (site, bucket, page_url);
DROP INDEX IF EXISTS page_minute_counts_page;
CREATE INDEX IF NOT EXISTS page_minute_counts_site_page
    ON page_minute_counts (site, page_url, bucket);

ALTER TABLE type_minute_counts ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE type_minute_counts DROP CONSTRAINT IF EXISTS type_minute_counts_pkey;
ALTER TABLE type_minute_counts ADD PRIMARY KEY (site, bucket, event_type);

ALTER TABLE page_rollups ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE page_rollups DROP CONSTRAINT IF EXISTS page_rollups_pkey;
ALTER TABLE page_rollups ADD PRIMARY KEY (site, grain, bucket, page_url);
DROP INDEX IF EXISTS page_rollups_page;
CREATE INDEX IF NOT EXISTS page_rollups_site_page ON page_rollups (site, page_url, grain, bucket);

ALTER TABLE total_rollups ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE total_rollups DROP CONSTRAINT IF EXISTS total_rollups_pkey;
ALTER TABLE total_rollups ADD PRIMARY KEY (site, grain, bucket);

ALTER TABLE user_hll_sketches ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE user_hll_sketches DROP CONSTRAINT IF EXISTS user_hll_sketches_pkey;
ALTER TABLE user_hll_sketches ADD PRIMARY KEY (site, grain, bucket);

ALTER TABLE page_top_summaries ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE page_top_summaries DROP CONSTRAINT IF EXISTS page_top_summaries_pkey;
ALTER TABLE page_top_summaries ADD PRIMARY KEY (site, grain, bucket);

ALTER TABLE minute_user_registers ADD COLUMN IF NOT EXISTS site text NOT NULL DEFAULT 'default';
ALTER TABLE minute_user_registers DROP CONSTRAINT IF EXISTS minute_user_registers_pkey;
ALTER TABLE minute_user_registers ADD PRIMARY KEY (site, bucket);
