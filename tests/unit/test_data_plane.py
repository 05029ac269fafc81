from __future__ import annotations

import json

from functions.deploy.data_plane import CONSUMER_PROPERTIES, patch, with_max_poll_records


def test_the_line_is_replaced_in_place() -> None:
    properties = "a=1\nmax.poll.records=500\nb=2\n"
    assert with_max_poll_records(properties, 50) == "a=1\nmax.poll.records=50\nb=2\n"


def test_a_missing_line_is_appended() -> None:
    assert with_max_poll_records("a=1", 80) == "a=1\nmax.poll.records=80\n"
    assert with_max_poll_records("", 80) == "max.poll.records=80\n"


def test_the_same_value_changes_nothing() -> None:
    properties = "max.poll.records=50\n# max.poll.records=9\n"
    assert with_max_poll_records(properties, 50) == properties


def test_the_patch_sets_the_consumer_properties() -> None:
    assert json.loads(patch("x=1\n")) == {"data": {CONSUMER_PROPERTIES: "x=1\n"}}
