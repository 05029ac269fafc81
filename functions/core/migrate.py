"""Applies the versioned SQL migrations once each, safely from many processes at once.

Run as `python -m functions.core.migrate` (nox sessions, tests, the Kubernetes Job).
"""

from __future__ import annotations

import sys
from importlib import resources

import psycopg

from functions.core.config import load_settings

# any constant: serialises concurrent migrators (a Job and `nox -s dev` racing)
_ADVISORY_LOCK_KEY = 0x636C69636B73


def migration_files() -> list[tuple[str, str]]:
    """(version, SQL) in version order, read from the packaged `migrations/` folder."""
    folder = resources.files("functions.core") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), (folder / name).read_text()) for name in names]


def apply_migrations(database_url: str) -> list[str]:
    """Apply what is missing; returns the versions applied now."""
    applied_now = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_ADVISORY_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in migration_files():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql.encode())
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied_now.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK_KEY,))
    return applied_now


def main() -> int:
    settings = load_settings("migrate")
    applied = apply_migrations(settings.database_url)
    print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
