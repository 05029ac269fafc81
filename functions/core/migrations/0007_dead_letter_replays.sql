-- Dead letters replayed into the events topic (functions/core/replay.py) are marked, never
-- deleted: the row stays for inspection, and `only_unreplayed` selections skip it.
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS replayed_at timestamptz;  -- null: never
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS replay_count int NOT NULL DEFAULT 0;
