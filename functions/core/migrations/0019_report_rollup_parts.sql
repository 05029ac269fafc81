-- Each closed hour's report roll-up (0013) also in five-minute parts, grain '5min', stored by
-- the hour's build and current with it (functions/process/roller.py): a range's edges read
-- whole parts instead of up to 59 minutes of raw events each (over 10M events in 30 days,
-- a 59-minute edge of the page breakdown read 13,770 events and their visits in ~66 ms).
ALTER TABLE report_rollups DROP CONSTRAINT IF EXISTS report_rollups_grain_check;
ALTER TABLE report_rollups ADD CONSTRAINT report_rollups_grain_check
    CHECK (grain IN ('5min', 'hour', 'day'));

-- Every hour built before has no parts: forgetting its build makes it pending, and the roller
-- rebuilds it with them (its day stays current: the versions did not move). Meanwhile reads
-- take such an hour from raw events, as any hour not yet rolled up. An hour sealed by
-- retention is recorded again as it stands, without parts: its raw events may be gone.
DELETE FROM rollup_builds WHERE grain = 'hour';
