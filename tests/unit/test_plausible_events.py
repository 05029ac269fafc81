"""Plausible's Events API bodies decoded into clicks, and cookieless ids (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from functions.bench.http import plausible_body
from functions.bench.workload import EventStream
from functions.core.errors import InvalidEvent
from functions.core.events import SenderHints
from functions.ingest import plausible
from functions.ingest.cookieless import visitor_id
from functions.ingest.decode import Decoded
from functions.ingest.enrich import Enricher
from functions.ingest.plausible import REPEAT_WINDOW_S

NOW = datetime(2026, 12, 6, 12, 0, 1, tzinfo=UTC)
SALT = bytes(32)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
HEADERS = {"user-agent": FIREFOX, "content-type": "text/plain"}
DOCUMENTED = {  # Plausible's own curl example
    "name": "pageview",
    "url": "http://dummy.site/?utm_source=news&utm_campaign=winter",
    "domain": "dummy.site",
}


def visitors(site: str, hints: SenderHints) -> str:
    return visitor_id(SALT, site, "203.0.113.9", hints.user_agent or FIREFOX)


def decode(body: object, at: datetime = NOW, site: str | None = None) -> Decoded:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    enrich = Enricher([]).for_request(HEADERS, "203.0.113.9", [])
    return plausible.decode(
        HEADERS, raw, received_at=at, site=site, enrich=enrich, visitors=visitors
    )


def problems(body: object) -> dict[str, str]:
    with pytest.raises(InvalidEvent) as caught:
        decode(body)
    return {p.field: p.rule for p in caught.value.problems}


def test_the_documented_pageview_becomes_a_click_of_the_site() -> None:
    (click,) = decode(DOCUMENTED).events
    assert click.site == "dummy.site"
    assert click.event_type == "pageview"
    assert click.page_url == "/"  # the path, as Plausible's event:page
    assert (click.utm_source, click.utm_campaign) == ("news", "winter")
    assert click.user_id == visitors("dummy.site", SenderHints())
    assert click.time_stamp == NOW
    assert click.browser == "Firefox"
    assert click.event_id.startswith("pl-")


def test_short_names_and_the_trackers_json_string_props() -> None:
    short = {
        "n": "Signup",
        "u": "https://shop.example/pricing#plans",
        "d": "shop.example",
        "r": "https://www.search.example/q",
        "p": json.dumps({"plan": "Pro", "seats": 3, "trial": True, "none": None}),
        "h": 1,
        "$": {"currency": "EUR", "amount": 29.5},
        "i": False,
    }
    (click,) = decode(short).events
    assert click.event_type == "Signup"
    assert click.page_url == "/pricing#plans"
    assert click.referrer_host == "search.example"
    assert click.properties == {
        "plan": "Pro",
        "seats": "3",
        "trial": "true",
        "revenue_amount": "29.5",
        "revenue_currency": "EUR",
    }


def test_comma_separated_domains_send_one_event_to_each() -> None:
    clicks = decode({**DOCUMENTED, "domain": "a.example, B.example"}).events
    assert [c.site for c in clicks] == ["a.example", "b.example"]
    assert len({c.user_id for c in clicks}) == len({c.event_id for c in clicks}) == 2


def test_a_write_keys_site_replaces_the_domains() -> None:
    (click,) = decode({**DOCUMENTED, "domain": "a.example,b.example"}, site="k.example").events
    assert click.site == "k.example"


def test_a_retried_request_keeps_its_id_within_the_window() -> None:
    first = decode(DOCUMENTED).events[0].event_id
    assert decode(DOCUMENTED, NOW + timedelta(seconds=REPEAT_WINDOW_S - 2)).events[0].event_id == (
        first
    )
    later = NOW + timedelta(seconds=REPEAT_WINDOW_S)
    assert decode(DOCUMENTED, later).events[0].event_id != first
    other = {**DOCUMENTED, "props": {"a": "b"}}
    assert decode(other).events[0].event_id != first


def test_bots_are_counted_not_kept() -> None:
    enrich = Enricher([]).for_request({"user-agent": "Googlebot/2.1"}, "203.0.113.9", [])
    body = json.dumps(DOCUMENTED).encode()
    decoded = plausible.decode(
        {}, body, received_at=NOW, site=None, enrich=enrich, visitors=visitors
    )
    assert (decoded.events, decoded.bots) == ([], 1)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "$"),
        ([DOCUMENTED], "$"),
        ({**DOCUMENTED, "domain": ""}, "site"),
        ({**DOCUMENTED, "domain": "bad domain"}, "site"),
        ({**DOCUMENTED, "url": "/relative"}, "page_url"),
        ({**DOCUMENTED, "url": None}, "page_url"),
        ({**DOCUMENTED, "name": ""}, "event_type"),
        ({"url": DOCUMENTED["url"], "domain": "dummy.site"}, "event_type"),
        ({**DOCUMENTED, "name": "a\nb"}, "event_type"),
        ({**DOCUMENTED, "props": {"nested": {"a": 1}}}, "properties"),
        ({**DOCUMENTED, "props": "[1]"}, "properties"),
        ({**DOCUMENTED, "revenue": {"currency": "euro", "amount": 1}}, "revenue"),
        ({**DOCUMENTED, "interactive": "no"}, "interactive"),
    ],
)
def test_bad_payloads_name_the_field(body: object, field: str) -> None:
    assert field in problems(body)


def test_visitor_ids_differ_by_day_site_address_and_agent() -> None:
    one = visitor_id(SALT, "a.example", "203.0.113.9", FIREFOX)
    assert one == visitor_id(SALT, "a.example", "203.0.113.9", FIREFOX)
    assert (
        len(
            {
                one,
                visitor_id(b"\x01" * 32, "a.example", "203.0.113.9", FIREFOX),
                visitor_id(SALT, "b.example", "203.0.113.9", FIREFOX),
                visitor_id(SALT, "a.example", "203.0.113.10", FIREFOX),
                visitor_id(SALT, "a.example", "203.0.113.9", FIREFOX + " "),
            }
        )
        == 5
    )
    assert "203.0.113.9" not in one


def test_the_benchmarks_requests_are_what_the_tracker_sends() -> None:
    event, _ = EventStream("bench").next_event()
    (click,) = decode(plausible_body(event, "bench.example")).events
    assert (click.site, click.event_type, click.page_url) == (
        "bench.example",
        event["event_type"],
        event["page_url"],
    )
