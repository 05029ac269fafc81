-- Distinct users of loose minutes (the edges of a long range, functions/query/minute_users.py)
-- without reading raw events on every read: one minute's HyperLogLog (register, rank) pairs,
-- packed 3 bytes each (register big-endian, then rank), only for non-empty registers. Built
-- by `query` the first time a read needs the minute, from one snapshot of click_events and
-- total_rollups, and valid while the minute's total is still `total` (counts only grow).
CREATE TABLE IF NOT EXISTS minute_user_registers (
    bucket timestamptz PRIMARY KEY,
    total  bigint NOT NULL,
    pairs  bytea NOT NULL
);

-- Top pages are now read through page_top_summaries (0004) and the page index: an index
-- holding `count` made every roll-up update a non-HOT one, adding an index entry to all three
-- indexes per update (write cost, and bloat that slowed reads until vacuumed).
DROP INDEX IF EXISTS page_rollups_span;
