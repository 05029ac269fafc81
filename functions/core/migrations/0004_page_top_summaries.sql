-- Exact top pages over long ranges without summing every page of every bucket
-- (functions/query/top_pages.py). A summary holds one closed bucket's most counted pages and
-- the count of the next one, an upper bound for every page it does not list. It is built by
-- `query` the first time a read needs it, from one snapshot of the roll-ups, and stays valid
-- while the bucket's total in total_rollups is still `total` (counts only grow, so any event
-- landing in the bucket later shows as a different total).
CREATE TABLE IF NOT EXISTS page_top_summaries (
    grain  text NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
    bucket timestamptz NOT NULL,
    total  bigint NOT NULL,
    pages  text[] NOT NULL,
    counts bigint[] NOT NULL,
    bound  bigint NOT NULL,
    PRIMARY KEY (grain, bucket)
);
