-- Sites are the tenants (DESIGN.md: "Sites and enrichment"): every event belongs to one and
-- every read names one. Keys are bound to a site and stored only as hashes, so a copy of the
-- database (a backup, a read replica) gives nobody a working key. functions/core/sites.py
-- is the one module that writes these tables.
CREATE TABLE IF NOT EXISTS sites (
    -- host-like and lower-case: a site name travels in URLs (`?site=`), CloudEvent sources,
    -- metric labels and logs, so it is held to characters that need no escaping anywhere
    name       text PRIMARY KEY CHECK (name ~ '^[a-z0-9.-]{1,253}$'),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- events from before sites existed, and every sender that names none, belong to `default`
INSERT INTO sites (name) VALUES ('default') ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS site_keys (
    id          bigserial PRIMARY KEY,
    -- removing a site removes its keys (never its events); null: an admin key valid on
    -- every site, the only kind that can manage sites themselves
    site        text REFERENCES sites ON DELETE CASCADE,
    scope       text NOT NULL CHECK (scope IN ('write', 'read', 'admin')),
    -- SHA-256 of the secret, never the secret: the length check refuses a secret in clear
    secret_hash bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- revoked keys are kept (null: active), so an operator can tell which key was used when
    revoked_at  timestamptz,
    -- a write key or read token valid on every site would cross tenants: admin keys only
    CONSTRAINT site_keys_site_or_admin CHECK (site IS NOT NULL OR scope = 'admin')
);

-- the cascade from `sites` and the per-site key counts look keys up by site
CREATE INDEX IF NOT EXISTS site_keys_site ON site_keys (site);
