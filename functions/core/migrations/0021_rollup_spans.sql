-- Report roll-ups of a range's whole days as one bucket (functions/query/rollup_spans.py):
-- a span of N days from any midnight, named 'N-day span', built by `query` from the aligned
-- buckets a read of those days takes, so that a 30-day range unions one sketch per value
-- for its whole days instead of about ten. A span is current, and read, under the same rule
-- as every bucket (its build version is the sum of its hours' versions); `built_at` says
-- when, so that the roller drops those built over a day ago.
ALTER TABLE report_rollups DROP CONSTRAINT IF EXISTS report_rollups_grain_check;
ALTER TABLE report_rollups ADD CONSTRAINT report_rollups_grain_check
    CHECK (grain IN ('hour', 'day', '4 days', '16 days', '64 days')
           OR grain ~ '^[1-9][0-9]*-day span$');
ALTER TABLE rollup_builds DROP CONSTRAINT IF EXISTS rollup_builds_grain_check;
ALTER TABLE rollup_builds ADD CONSTRAINT rollup_builds_grain_check
    CHECK (grain IN ('hour', 'day', '4 days', '16 days', '64 days')
           OR grain ~ '^[1-9][0-9]*-day span$');
ALTER TABLE rollup_builds ADD COLUMN IF NOT EXISTS built_at timestamptz NOT NULL DEFAULT now();
-- the roller drops the spans built over a day ago every pass: found without a scan of every
-- hour's build
CREATE INDEX IF NOT EXISTS rollup_builds_spans ON rollup_builds (built_at)
    WHERE grain LIKE '%-day span';
