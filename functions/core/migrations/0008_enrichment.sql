-- What ingest derives for every event (DESIGN.md: "Sites and enrichment"): from the request's
-- User-Agent and client address, and from the event's own URLs. Null when unknown; the client
-- address itself is never stored. Adding nullable columns without a default rewrites nothing.
ALTER TABLE click_events ADD COLUMN IF NOT EXISTS browser       text;
ALTER TABLE click_events ADD COLUMN IF NOT EXISTS os            text;
ALTER TABLE click_events ADD COLUMN IF NOT EXISTS device        text;  -- desktop|mobile|tablet
ALTER TABLE click_events ADD COLUMN IF NOT EXISTS country       text;  -- ISO 3166-1 alpha-2
ALTER TABLE click_events ADD COLUMN IF NOT EXISTS referrer_host text;
ALTER TABLE click_events ADD COLUMN IF NOT EXISTS utm_source    text;
ALTER TABLE click_events ADD COLUMN IF NOT EXISTS utm_medium    text;
ALTER TABLE click_events ADD COLUMN IF NOT EXISTS utm_campaign  text;
