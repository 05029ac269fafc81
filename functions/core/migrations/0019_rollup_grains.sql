-- Report roll-ups of several days (functions/query/report_rows.py, GRAINS): buckets of 4, 16
-- and 64 days, each built from the roll-ups of the grain below, so that a long range unions
-- a few sketches per value instead of one per day. The roller finds them pending and builds
-- them from the day roll-ups already stored; nothing here moves a version.
ALTER TABLE report_rollups DROP CONSTRAINT IF EXISTS report_rollups_grain_check;
ALTER TABLE report_rollups ADD CONSTRAINT report_rollups_grain_check
    CHECK (grain IN ('hour', 'day', '4 days', '16 days', '64 days'));
ALTER TABLE rollup_builds DROP CONSTRAINT IF EXISTS rollup_builds_grain_check;
ALTER TABLE rollup_builds ADD CONSTRAINT rollup_builds_grain_check
    CHECK (grain IN ('hour', 'day', '4 days', '16 days', '64 days'));
