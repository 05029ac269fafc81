"""The browser tracker in headless Chromium: page views and clicks reach Kafka by beacon."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.fixtures.functions import read_topic, record_headers

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><html><head><title>shop</title>
<script src="{ingest}/tracker.js" {attributes} async></script></head>
<body><a id="pricing" href="#pricing">Pricing</a> <button id="buy">Buy now</button>
<p id="plain">not tracked</p></body></html>"""


@pytest.fixture(scope="module")
def site(ingest_url: str) -> Iterator[str]:
    """A web site of its own origin, embedding the tracker as a customer would."""
    plain = PAGE.format(ingest=ingest_url, attributes="").encode()
    # pages under /private/ ask the tracker to honour Do Not Track and Global Privacy Control
    respectful = PAGE.format(ingest=ingest_url, attributes="data-respect-dnt").encode()
    # pages under /shop/ name their site
    shop = PAGE.format(ingest=ingest_url, attributes='data-site="shop.example"').encode()
    # pages under /cookieless/ keep nothing in the browser
    cookieless = PAGE.format(ingest=ingest_url, attributes="data-cookieless").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            if self.path.startswith("/shop/"):
                self.wfile.write(shop)
            elif self.path.startswith("/cookieless/"):
                self.wfile.write(cookieless)
            else:
                self.wfile.write(respectful if self.path.startswith("/private/") else plain)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pageviews_and_clicks_arrive_with_a_stable_user(
    chromium: Browser, site: str, kafka_bootstrap: str, ingest_topic: str
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(site + "/shop.html?ref=ad")
    page.wait_for_function("window.clickstream !== undefined")
    page.click("#pricing")
    page.click("#buy")
    page.click("#plain")
    page.evaluate("window.clickstream.flush()")
    page.reload()
    page.wait_for_function("window.clickstream !== undefined")
    page.evaluate("window.clickstream.flush()")
    context.close()

    records = read_topic(kafka_bootstrap, ingest_topic, 100_000, timeout_s=5)
    events = [
        json.loads(r.value() or b"") | {"id": record_headers(r)["ce_id"]}
        for r in records
        if json.loads(r.value() or b"{}").get("page_url") == "/shop.html?ref=ad"
    ]
    kinds = sorted(e["event_type"] for e in events)
    assert kinds == ["click", "click", "pageview", "pageview"]
    assert len({e["user_id"] for e in events}) == 1, "the anonymous id survives a reload"
    assert len({e["session_id"] for e in events}) == 1, "one visit: no 30 idle minutes"
    assert len({e["id"] for e in events}) == 4
    clicks = {
        e["properties"]["element"]: e["properties"] for e in events if e["event_type"] == "click"
    }
    assert clicks["a"]["href"].endswith("#pricing")
    assert clicks["button"]["text"] == "Buy now"
    assert {e["site"] for e in events} == {"default"}, "no data-site: the default site"


def test_data_site_names_the_site_of_every_event(
    chromium: Browser, site: str, kafka_bootstrap: str, ingest_topic: str
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(site + "/shop/home.html")
    page.wait_for_function("window.clickstream !== undefined")
    page.click("#buy")
    page.evaluate("window.clickstream.flush()")
    context.close()

    events = events_on(kafka_bootstrap, ingest_topic, "/shop/home.html")
    assert sorted(e["event_type"] for e in events) == ["click", "pageview"]
    assert {e["site"] for e in events} == {"shop.example"}


def events_on(kafka_bootstrap: str, topic: str, page_url: str) -> list[dict[str, Any]]:
    records = read_topic(kafka_bootstrap, topic, 100_000, timeout_s=5)
    decoded = [json.loads(r.value() or b"{}") for r in records]
    return [event for event in decoded if event.get("page_url") == page_url]


def test_a_visit_ends_after_30_idle_minutes(
    chromium: Browser, site: str, kafka_bootstrap: str, ingest_topic: str
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(site + "/visits.html")
    page.wait_for_function("window.clickstream !== undefined")
    # the last event of the visit was 31 minutes ago: the next one starts a new visit
    page.evaluate("localStorage.setItem('cs_visit', 'v-old ' + (Date.now() - 31 * 60e3))")
    page.evaluate("window.clickstream.track('late')")
    # 29 minutes ago: the same visit goes on
    page.evaluate("localStorage.setItem('cs_visit', 'v-recent ' + (Date.now() - 29 * 60e3))")
    page.evaluate("window.clickstream.track('soon')")
    page.evaluate("window.clickstream.flush()")
    context.close()

    by_type = {e["event_type"]: e for e in events_on(kafka_bootstrap, ingest_topic, "/visits.html")}
    assert by_type["late"]["session_id"] not in ("v-old", by_type["pageview"]["session_id"])
    assert by_type["soon"]["session_id"] == "v-recent"


@pytest.mark.parametrize(
    ("path", "sent"), [("/private/gpc.html", False), ("/gpc-not-asked.html", True)]
)
def test_global_privacy_control_is_honoured_where_the_site_asks(
    chromium: Browser, site: str, kafka_bootstrap: str, ingest_topic: str, path: str, sent: bool
) -> None:
    context = chromium.new_context()
    context.add_init_script(
        "Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})"
    )
    page = context.new_page()
    page.goto(site + path)
    page.wait_for_function("window.clickstream !== undefined")
    page.click("#buy")
    page.evaluate("window.clickstream.track('custom')")  # a site's own call keeps working
    page.evaluate("window.clickstream.flush()")
    context.close()

    kinds = sorted(e["event_type"] for e in events_on(kafka_bootstrap, ingest_topic, path))
    assert kinds == (["click", "custom", "pageview"] if sent else [])


def test_cookieless_mode_stores_nothing_and_ingest_names_the_visitor(
    chromium: Browser, site: str, kafka_bootstrap: str, ingest_topic: str
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(site + "/cookieless/home.html")
    page.wait_for_function("window.clickstream !== undefined")
    page.click("#buy")
    page.evaluate("window.clickstream.flush()")
    stored = page.evaluate("[localStorage.length, document.cookie]")
    page.reload()
    page.wait_for_function("window.clickstream !== undefined")
    page.evaluate("window.clickstream.flush()")
    context.close()

    assert stored == [0, ""]
    events = events_on(kafka_bootstrap, ingest_topic, "/cookieless/home.html")
    assert sorted(e["event_type"] for e in events) == ["click", "pageview", "pageview"]
    assert all("session_id" not in e for e in events), "visits: by user and 30 idle minutes"
    # the same address and browser on the same day: one visitor, named by ingest's hash
    (user,) = {e["user_id"] for e in events}
    assert len(user) == 32
