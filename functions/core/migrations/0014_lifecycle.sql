-- Erasures (docs/lifecycle.md): one row per person erased from a site, written in the
-- transaction that removed their rows (functions/core/erasure.py). The user id is never
-- stored: `subject` is HMAC-SHA256(ERASURE_HASH_KEY, site || 0x1f || user id), so whoever
-- holds the key can tell whether a given person was erased, and a copy of the database alone
-- cannot (user ids are often guessable, so a plain hash would give them back). Null when
-- no key is configured.
CREATE TABLE IF NOT EXISTS erasures (
    id        bigserial PRIMARY KEY,
    site      text NOT NULL,
    subject   bytea CHECK (octet_length(subject) = 32),
    actor     text NOT NULL,  -- who asked: a token's hash prefix, or an operator's name
    erased_at timestamptz NOT NULL DEFAULT now(),
    removed   jsonb NOT NULL  -- rows removed, by table: {"click_events": n, ...}
);
-- the question an erasure record answers: was this person (of this site) erased, and when
CREATE INDEX IF NOT EXISTS erasures_subject ON erasures (subject) WHERE subject IS NOT NULL;
-- a person's dead letters are found by the user id in the stored CloudEvent's data,
-- without reading every letter
CREATE INDEX IF NOT EXISTS dead_letters_user
    ON dead_letters ((event->'data'->>'user_id'));
