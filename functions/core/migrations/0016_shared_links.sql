-- Shared links (DESIGN.md: "Sites and enrichment"; docs/security.md): a read-only token of
-- its own for one site's dashboard, handed to people outside the team and revoked on its
-- own. It reads the site's reports, never one person's rows (functions/core/sites.py), so
-- it is a scope of its own rather than a read token. `label` says whom a link was given
-- to, so an operator can tell which one to revoke.
ALTER TABLE site_keys DROP CONSTRAINT IF EXISTS site_keys_scope_check;
ALTER TABLE site_keys ADD CONSTRAINT site_keys_scope_check
    CHECK (scope IN ('write', 'read', 'admin', 'link'));
ALTER TABLE site_keys ADD COLUMN IF NOT EXISTS label text
    CHECK (label IS NULL OR char_length(label) BETWEEN 1 AND 200);
