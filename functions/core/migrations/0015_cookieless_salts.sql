-- Cookieless visitors (functions/ingest/cookieless.py): one random salt per UTC day. A
-- visitor id is a keyed hash of (salt, site, client address, User-Agent), so ids of two days
-- cannot be linked, and once a day's salt is deleted (ingest keeps today's and yesterday's
-- only) no one, the operator included, can recompute them from an address.
CREATE TABLE IF NOT EXISTS cookieless_salts (
    day        date PRIMARY KEY,
    salt       bytea NOT NULL CHECK (octet_length(salt) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
