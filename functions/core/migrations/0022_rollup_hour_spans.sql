-- Spans of whole days and the built hours after them (functions/query/rollup_spans.py): a
-- span that ends within a day is named by its hours, 'N-hour span', so that a range running
-- to now or to tomorrow reads today's built hours in the same bucket as its days.
ALTER TABLE report_rollups DROP CONSTRAINT IF EXISTS report_rollups_grain_check;
ALTER TABLE report_rollups ADD CONSTRAINT report_rollups_grain_check
    CHECK (grain IN ('hour', 'day', '4 days', '16 days', '64 days')
           OR grain ~ '^[1-9][0-9]*-(day|hour) span$');
ALTER TABLE rollup_builds DROP CONSTRAINT IF EXISTS rollup_builds_grain_check;
ALTER TABLE rollup_builds ADD CONSTRAINT rollup_builds_grain_check
    CHECK (grain IN ('hour', 'day', '4 days', '16 days', '64 days')
           OR grain ~ '^[1-9][0-9]*-(day|hour) span$');
-- the roller's expiry finds every kind of span through it
DROP INDEX IF EXISTS rollup_builds_spans;
CREATE INDEX IF NOT EXISTS rollup_builds_spans ON rollup_builds (built_at)
    WHERE grain LIKE '% span';
