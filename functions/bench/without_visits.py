"""`python -m functions.bench.without_visits`: `process` storing events without keeping
visits, for the pipeline scenario's same-run baseline of what visits cost. Never deployed:
reports over visits are wrong once it has written."""

from __future__ import annotations

import runpy

from functions.process import store

# `write_events` reads the statement from its module at each call
store.WRITE_EVENTS = store.WRITE_EVENTS_WITHOUT_VISITS
runpy.run_module("functions.process", run_name="__main__", alter_sys=True)
