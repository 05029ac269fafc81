"""`python -m functions.bench.unkeyed`: `process` storing events as before raw events were
partitioned, keyed by (site, event_id) in `click_events` itself and without `event_keys`,
for the pipeline scenario's same-run baseline of what partitioning costs, while
functions/bench/unpartitioned.py has swapped in a plain `click_events` of that key. Never
deployed: its events have no row in `event_keys`."""

from __future__ import annotations

import runpy

from functions.process import store

# `write_events` reads the statement from its module at each call
store.WRITE_EVENTS = store.WRITE_EVENTS_UNPARTITIONED
runpy.run_module("functions.process", run_name="__main__", alter_sys=True)
