-- Raw events, keyed by the idempotency key; the seed-compatible columns first.
CREATE TABLE IF NOT EXISTS click_events (
    event_id    text PRIMARY KEY,
    user_id     text NOT NULL,
    event_type  text NOT NULL,
    page_url    text NOT NULL,
    time_stamp  timestamptz NOT NULL,
    source      text NOT NULL DEFAULT '/clickstream/ingest',
    referrer    text,
    session_id  text,
    properties  jsonb,
    received_at timestamptz NOT NULL DEFAULT now()
);
-- distinct users and per-user activity over a range
CREATE INDEX IF NOT EXISTS click_events_time_user ON click_events (time_stamp, user_id);
CREATE INDEX IF NOT EXISTS click_events_user_time ON click_events (user_id, time_stamp);

-- The original service's all-time count per user and page.
CREATE TABLE IF NOT EXISTS page_clicks (
    user_id     text NOT NULL,
    page_url    text NOT NULL,
    click_count bigint NOT NULL,
    PRIMARY KEY (user_id, page_url)
);

-- Per-minute buckets: time series, top pages and totals over any range.
CREATE TABLE IF NOT EXISTS page_minute_counts (
    bucket   timestamptz NOT NULL,
    page_url text NOT NULL,
    count    bigint NOT NULL,
    PRIMARY KEY (bucket, page_url)
);
CREATE TABLE IF NOT EXISTS type_minute_counts (
    bucket     timestamptz NOT NULL,
    event_type text NOT NULL,
    count      bigint NOT NULL,
    PRIMARY KEY (bucket, event_type)
);

-- Records the dead-letter sink received: kept for inspection and replay.
CREATE TABLE IF NOT EXISTS dead_letters (
    id               bigserial PRIMARY KEY,
    event_id         text,
    event            jsonb NOT NULL,
    knativeerrordest text,
    knativeerrorcode text,
    knativeerrordata text,
    received_at      timestamptz NOT NULL DEFAULT now()
);
