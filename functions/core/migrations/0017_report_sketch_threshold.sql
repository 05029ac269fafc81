-- The report roll-ups' sketches (0013) list at most 256 user or visit ids before they turn
-- into registers, instead of hll's automatic 1,280 at 16,384 registers. A union into a
-- sketch still holding ids sorts all of them again (postgresql-hll's explicit_union), and a
-- 30-day breakdown unions ~50 buckets for each of its values: over 2M events, the referrer
-- breakdown's unions took 290-330 ms with 1,280 ids and 28-56 ms with 256 (same rows, same
-- estimates). Sketches differing in that threshold cannot be unioned, so the stored roll-ups
-- are dropped here and rebuilt by process's roller (functions/process/roller.py), which
-- finds every hour with events pending once its build is gone; until then reads compute
-- those hours from raw events, as for any hour not yet rolled up.
DELETE FROM report_rollups;
DELETE FROM rollup_builds;
ALTER TABLE report_rollups
    ALTER COLUMN visitors TYPE hll(14, 5, 256, 1),
    ALTER COLUMN visits TYPE hll(14, 5, 256, 1);
