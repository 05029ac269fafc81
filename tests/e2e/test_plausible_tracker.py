"""Plausible's official tracker (npm `plausible-tracker`, pinned in dashboard/package.json) in
headless Chromium, its `apiHost` set to our ingest: its pageview and custom event with props
reach our reports, read back through the Stats API v2."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from functions.dev.dashboard import DASHBOARD
from functions.dev.stack import Stack

pytestmark = pytest.mark.e2e

DOMAIN = f"tracker-{uuid.uuid4().hex[:8]}.example"
PAGE = """<!doctype html><html><head><title>shop</title><script src="/plausible.js"></script>
<script>
  const plausible = Plausible.default({{
    domain: "{domain}", apiHost: "{ingest}", trackLocalhost: true
  }});
  plausible.trackPageview();
  plausible.trackEvent("Signup", {{ props: {{ plan: "Pro", seats: "3" }} }});
</script></head><body>pricing</body></html>"""


@pytest.fixture(scope="module")
def tracker_bundle(dashboard_dist: Path) -> bytes:
    """The package as npm ships it, bundled for a browser page by the dashboard's esbuild."""
    entry = DASHBOARD / "node_modules" / "plausible-tracker" / "build" / "module" / "index.js"
    done = subprocess.run(
        [
            str(DASHBOARD / "node_modules" / ".bin" / "esbuild"),
            str(entry),
            "--bundle",
            "--format=iife",
            "--global-name=Plausible",
        ],
        capture_output=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def shop(stack: Stack, tracker_bundle: bytes) -> Iterator[str]:
    """A web site of its own origin using the tracker as its documentation shows."""
    page = PAGE.format(domain=DOMAIN, ingest=stack.url("ingest")).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script = self.path == "/plausible.js"
            self.send_response(200)
            self.send_header("content-type", "text/javascript" if script else "text/html")
            self.end_headers()
            self.wfile.write(tracker_bundle if script else page)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def query(stack: Stack, dimension: str, metrics: list[str]) -> list[object]:
    body = {
        "site_id": DOMAIN,
        "metrics": metrics,
        "date_range": "day",
        "dimensions": [dimension],
    }
    answer = httpx.post(stack.url("gateway") + "/api/v2/query", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    results: list[object] = answer.json()["results"]
    return results


def test_official_tracker_pageview_and_custom_event_reach_our_reports(
    chromium: Browser, stack: Stack, shop: str
) -> None:
    context = chromium.new_context()
    page = context.new_page()
    with page.expect_request(lambda r: r.url.endswith("/api/event")) as first:
        page.goto(shop + "/pricing?utm_source=newsletter")
    assert first.value.post_data is not None
    deadline = time.monotonic() + 60
    while len(query(stack, "event:name", ["events"])) < 2:
        assert time.monotonic() < deadline, "the tracker's events never reached the reports"
        time.sleep(0.5)
    context.close()
    assert sorted(map(str, query(stack, "event:name", ["visitors", "events"]))) == sorted(
        map(
            str,
            [
                {"metrics": [1, 1], "dimensions": ["Signup"]},
                {"metrics": [1, 1], "dimensions": ["pageview"]},
            ],
        )
    )
    assert query(stack, "event:props:plan", ["events"]) == [
        {"metrics": [1], "dimensions": ["(none)"]},  # the pageview
        {"metrics": [1], "dimensions": ["Pro"]},
    ]
    assert query(stack, "event:page", ["pageviews"]) == [
        {"metrics": [1], "dimensions": ["/pricing"]}
    ]
    assert query(stack, "visit:utm_source", ["visitors"]) == [
        {"metrics": [1], "dimensions": ["newsletter"]}
    ]
