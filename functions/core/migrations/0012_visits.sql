-- Visits (DESIGN.md: "Visits and reports"): the events sharing a session_id, or, for events
-- without one, a user's events with no gap over 30 minutes. `process` keeps them in the
-- transaction that stores the events, recomputing the visits its new events touch from the
-- stored events, so a visit is a function of the events and redelivery changes nothing.
CREATE TABLE IF NOT EXISTS visits (
    site text NOT NULL,
    -- 's:' || session_id, or 'u:' || user_id for the events without a session
    visit_key text NOT NULL,
    started_at timestamptz NOT NULL,  -- first event's time; the visit belongs to its range
    ended_at timestamptz NOT NULL,    -- last event's time: duration = ended_at - started_at
    user_id text NOT NULL,            -- the first event's
    events integer NOT NULL CHECK (events > 0),  -- a bounce is a visit of exactly one
    entry_page text NOT NULL,
    exit_page text NOT NULL,
    -- the visit-level dimensions, from its first event
    referrer_host text,
    utm_source text,
    utm_medium text,
    utm_campaign text,
    browser text,
    os text,
    device text,
    country text,
    PRIMARY KEY (site, visit_key, started_at)
);
-- reports read a site's visits by start time
CREATE INDEX IF NOT EXISTS visits_site_started ON visits (site, started_at);
-- a session's events, for recomputing its visit (events without a session use
-- click_events_site_user_time)
CREATE INDEX IF NOT EXISTS click_events_site_session_time
    ON click_events (site, session_id, time_stamp) WHERE session_id IS NOT NULL;
