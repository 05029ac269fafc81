"""The browser tracker in headless Chromium: page views and clicks reach Kafka by beacon."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser

from tests.fixtures.functions import read_topic, record_headers

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><html><head><title>shop</title>
<script src="{ingest}/tracker.js" async></script></head>
<body><a id="pricing" href="#pricing">Pricing</a> <button id="buy">Buy now</button>
<p id="plain">not tracked</p></body></html>"""


@pytest.fixture(scope="module")
def site(ingest_url: str) -> Iterator[str]:
    """A web site of its own origin, embedding the tracker as a customer would."""
    body = PAGE.format(ingest=ingest_url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(body)

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
    assert len({e["id"] for e in events}) == 4
    clicks = {
        e["properties"]["element"]: e["properties"] for e in events if e["event_type"] == "click"
    }
    assert clicks["a"]["href"].endswith("#pricing")
    assert clicks["button"]["text"] == "Buy now"
