"""`python -m functions.admin <group> <command> ...`: operator commands working directly
against PostgreSQL and Kafka, configured by the functions' environment variables."""

from __future__ import annotations

import sys

from functions.admin import dead_letters, events, links, retention, rollups, sites, users
from functions.admin.command import run

# one module per group of commands, each registering its own subcommands
GROUPS = (dead_letters, events, links, retention, rollups, sites, users)

if __name__ == "__main__":
    sys.exit(run(GROUPS, sys.argv[1:]))
