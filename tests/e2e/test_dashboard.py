"""The dashboard in headless Chromium against the real stack: the numbers on screen are the
API's, ranges, filter, drill-down and site switcher work, CSV export, error banner and
recovery, and event data rendered only as text. Screenshots are saved in the pytest temporary
directory."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.dashboard import (
    PHONE,
    Dashboard,
    api,
    moment,
    number,
    open_dashboard,
    rows,
    screen_versus_api,
    settled,
    shown_range,
    stamp,
)
from tests.fixtures.polling import eventually

pytestmark = pytest.mark.e2e

HOSTILE_PAGE = '/xss/"><script>window.__pwned=1</script><img/src=x/onerror=window.__pwned=2>'
HOSTILE_USER = '<img src=x onerror="window.__pwned=3"><b>mallory</b>'


@dataclass(frozen=True)
class Sent:
    """The known events per user and page: all in the last 15 minutes but two of carol's."""

    run: str
    pages: tuple[str, str, str]
    users: dict[str, Counter[str]]

    @property
    def alice(self) -> str:
        return f"{self.run}-alice"


@pytest.fixture(scope="module")
def sent(dashboard: Dashboard) -> Sent:
    """Sends the known events through ingest and waits until the API counts all of them."""
    run = uuid.uuid4().hex[:6]
    home, pricing, docs = f"/{run}/home", f"/{run}/pricing", f"/{run}/docs"
    now = datetime.now(UTC)
    plan = {
        f"{run}-alice": [(home, 5, 1), (pricing, 3, 2), (docs, 1, 3)],
        f"{run}-bob": [(home, 4, 4), (pricing, 2, 5)],
        f"{run}-carol": [(docs, 2, 22), (home, 1, 6)],  # docs: the previous 15 minutes
        HOSTILE_USER: [(HOSTILE_PAGE, 2, 2)],
    }
    events: list[dict[str, str]] = []
    users: dict[str, Counter[str]] = {}
    for user, visits in plan.items():
        users[user] = Counter()
        for page_url, times, minutes_ago in visits:
            users[user][page_url] += times
            for n in range(times):
                events.append(
                    {
                        "event_id": f"{run}-{len(events)}",
                        "user_id": user,
                        "event_type": ("click", "pageview", "signup")[n % 3],
                        "page_url": page_url,
                        "time_stamp": stamp(now - timedelta(minutes=minutes_ago, seconds=n)),
                    }
                )
    with httpx.Client(timeout=10) as client:
        answer = client.post(dashboard.stack.url("ingest") + "/ingest", json=events)
        assert answer.status_code == 202, answer.text
        window = {"from": stamp(now - timedelta(hours=2)), "to": stamp(now + timedelta(hours=1))}
        for user, pages in users.items():
            url = f"{dashboard.url}/api/v1/users/{quote(user, safe='')}/activity"
            eventually(
                partial(_counted, client, url, window, sum(pages.values())),
                f"the API never counted every event of {user!r}",
            )
    return Sent(run=run, pages=(home, pricing, docs), users=users)


def _counted(client: httpx.Client, url: str, window: dict[str, str], expected: int) -> bool:
    answer = client.get(url, params=window)
    return answer.status_code == 200 and answer.json()["total"] == expected


def _spans(page: Page, span: timedelta) -> bool:
    shown = shown_range(page)
    return moment(shown["to"]) - moment(shown["from"]) == span


def test_numbers_on_screen_equal_the_api(page: Page, dashboard: Dashboard, sent: Sent) -> None:
    open_dashboard(page, dashboard, "?range=15m")
    shown = shown_range(page)
    assert moment(shown["to"]) - moment(shown["from"]) == timedelta(minutes=15)
    assert shown["bucket"] == "minute"
    settled(lambda: screen_versus_api(page, dashboard))
    assert len(rows(page, "series-table-body")) == 15
    # the known pages are among the top pages, with their counts
    top = {url: number(count) for url, _, count in rows(page, "pages-table-body")}
    home, pricing, _ = sent.pages
    assert (top.get(home), top.get(pricing)) == (10, 5), f"top pages on screen: {top}"
    # event types: shown with the API's numbers, or hidden when the gateway has no such route
    types = httpx.get(
        dashboard.url + "/api/v1/event-types", params={k: shown[k] for k in ("from", "to")}
    )
    if types.status_code == 404:
        expect(page.locator("#types-card")).to_be_hidden()
    else:
        expected = [["", t["event_type"], f"{t['count']:,}"] for t in types.json()["types"]]
        assert rows(page, "types-table-body") == expected
    expect(page.locator("#updated")).to_have_text(
        re.compile(r"Updated (just now|\d+ s ago)"), timeout=5000
    )
    page.emulate_media(color_scheme="light")
    page.screenshot(path=dashboard.shots / "desktop-light.png", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=dashboard.shots / "desktop-dark.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(PHONE)
    # the charts resize on the next frames; then nothing may stick out sideways
    page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth")
    page.wait_for_timeout(300)  # the resize animation
    page.screenshot(path=dashboard.shots / "phone.png", full_page=True)


def test_live_refresh_keeps_the_screen_and_can_pause(
    page: Page, dashboard: Dashboard, sent: Sent
) -> None:
    open_dashboard(page, dashboard, f"?range=1h&user={quote(sent.alice)}")
    page.select_option("#interval", "2")
    page.evaluate("document.querySelector('[data-kpi=total_events]').__kept = true")
    loaded = page.locator("#updated").get_attribute("data-loaded-at")
    expect(page.locator("#updated")).not_to_have_attribute(
        "data-loaded-at", loaded or "", timeout=8000
    )
    # refreshed in place: same elements, no skeleton, selections untouched
    assert page.evaluate("document.querySelector('[data-kpi=total_events]').__kept") is True
    expect(page.locator("#kpis")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#user-id")).to_have_value(sent.alice)
    page.click("#pause")
    expect(page.locator("#pause")).to_have_attribute("aria-pressed", "true")
    paused_at = page.locator("#updated").get_attribute("data-loaded-at")
    page.wait_for_timeout(4500)
    assert page.locator("#updated").get_attribute("data-loaded-at") == paused_at
    expect(page.locator("#updated")).to_have_text(re.compile(r"Updated \d+ s ago"))
    page.click("#pause")
    expect(page.locator("#updated")).not_to_have_attribute(
        "data-loaded-at", paused_at or "", timeout=8000
    )


def test_ranges_filter_and_user_drill_down(page: Page, dashboard: Dashboard, sent: Sent) -> None:
    open_dashboard(page, dashboard)
    expect(page.locator('[data-range="1h"]')).to_have_attribute("aria-pressed", "true")
    for button, span, bucket, points in (
        ("24h", timedelta(hours=24), "hour", 24),
        ("7d", timedelta(days=7), "hour", 168),
        ("15m", timedelta(minutes=15), "minute", 15),
    ):
        page.click(f'[data-range="{button}"]')
        expect(page.locator("#range-summary")).to_have_attribute("data-bucket", bucket)
        eventually(
            partial(_spans, page, span), f"{button}: the range on screen never spanned {span}"
        )
        expect(page.locator("#kpis")).to_have_attribute("aria-busy", "false")
        settled(lambda: screen_versus_api(page, dashboard))
        assert len(rows(page, "series-table-body")) == points

    # the page filter narrows the time series to that page
    _, pricing, _ = sent.pages
    page.fill("#page-filter", pricing)
    page.press("#page-filter", "Enter")
    expect(page.locator("#series-title")).to_have_text(f"Events per minute on {pricing}")
    settled(lambda: screen_versus_api(page, dashboard))
    assert sum(number(count) for _, _, count in rows(page, "series-table-body")) == 5

    # drill into a user: the original's per-user view
    page.fill("#user-id", sent.alice)
    page.click("#user-form button[type=submit]")
    panel = page.locator("#user-panel")
    expect(panel).to_have_attribute("data-total", "9")
    expect(panel.locator("[data-part=user-title]")).to_have_text(sent.alice)
    home, pricing, docs = sent.pages
    assert [(key, number(count)) for key, _, count, _ in rows(page, "user-table-body")] == [
        (home, 5),
        (pricing, 3),
        (docs, 1),
    ]
    activity = api(dashboard, f"/api/v1/users/{quote(sent.alice)}/activity", **_window(page))
    assert activity["total"] == 9

    # the selection survives a reload (it lives in the address bar)
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-state", "ok", timeout=20_000)
    expect(page.locator('[data-range="15m"]')).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#page-filter")).to_have_value(pricing)
    expect(panel).to_have_attribute("data-total", "9")

    # a custom range with nothing in it: the empty state says how to send a first event
    page.click('[data-range="custom"]')
    page.fill("#custom-from", "2001-01-01T00:00")
    page.fill("#custom-to", "2001-01-01T06:00")
    page.click("#custom-form button[type=submit]")
    expect(page.locator("#empty")).to_be_visible()
    expect(page.locator("#charts")).to_be_hidden()
    expect(page.locator("#range-summary")).to_have_attribute("data-bucket", "hour")
    assert shown_range(page)["from"] == "2001-01-01T00:00:00.000Z"
    expect(page.locator("#empty-curl")).to_contain_text(
        "/ingest -H 'Content-Type: application/json'"
    )
    expect(page.locator("#empty-tracker")).to_have_text(
        re.compile(r'<script async src=".+/tracker\.js"></script>')
    )
    expect(page.locator('[data-kpi="total_events"] .kpi-value')).to_have_text("0")
    page.screenshot(path=dashboard.shots / "empty.png", full_page=True)


def _window(page: Page) -> dict[str, str]:
    shown = shown_range(page)
    return {"from": shown["from"], "to": shown["to"]}


def test_csv_export_is_what_is_on_screen(page: Page, dashboard: Dashboard, sent: Sent) -> None:
    open_dashboard(page, dashboard, f"?range=1h&user={quote(sent.alice)}")
    page.click("#pause")  # the export and the comparison see one snapshot
    settled(lambda: screen_versus_api(page, dashboard))
    with page.expect_download() as download:
        page.click("#export")
    path = download.value.path()
    assert download.value.suggested_filename.startswith("clickstream-")
    exported = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert exported[0] == ["section", "key", "value"]
    table: dict[str, list[tuple[str, str]]] = {}
    for section, key, value in exported[1:]:
        table.setdefault(section, []).append((key, value))
    window = _window(page)
    assert table["range"][:2] == [("from", window["from"]), ("to", window["to"])]
    overview = api(dashboard, "/api/v1/overview", **window)
    for key in ("total_events", "distinct_users", "events_per_minute"):
        (value,) = [v for k, v in table["overview"] if k == key]
        assert float(value) == overview[key]
        assert page.locator(f'[data-kpi="{key}"]').get_attribute("data-value") == value
    pages = api(dashboard, "/api/v1/pages/top", **window, limit="10")["pages"]
    assert isinstance(pages, list)
    assert table["top_pages"] == [(p["page_url"], str(p["count"])) for p in pages]
    points = api(dashboard, "/api/v1/timeseries", **window, bucket="minute")["points"]
    assert isinstance(points, list)
    assert [(moment(t), int(c)) for t, c in table["timeseries"]] == [
        (moment(p["t"]), p["count"]) for p in points
    ]
    home, pricing, docs = sent.pages
    assert table["user"] == [("user_id", sent.alice), ("total", "9")]
    assert table["user_pages"] == [(home, "5"), (pricing, "3"), (docs, "1")]
    shown_pages = [(key, str(number(count))) for key, _, count in rows(page, "pages-table-body")]
    assert table["top_pages"] == shown_pages


def _site_counted(client: httpx.Client, url: str, params: dict[str, str], expected: int) -> bool:
    answer = client.get(url, params=params)
    return answer.status_code == 200 and answer.json()["total_events"] == expected


def _sites_listed(client: httpx.Client, url: str, names: set[str]) -> bool:
    answer = client.get(url)
    return answer.status_code == 200 and names <= {s["name"] for s in answer.json()["sites"]}


def test_site_switcher_shows_each_sites_numbers(page: Page, dashboard: Dashboard) -> None:
    """Events of two new sites, on the same page by the same visitor: the switcher lists both,
    and each choice shows only that site's numbers, the drill-down's too, in the address bar."""
    run = uuid.uuid4().hex[:6]
    sites = {f"a-{run}.example": 3, f"b-{run}.example": 5}  # each site's events
    landing, visitor = f"/{run}/landing", f"{run}-visitor"
    now = datetime.now(UTC)
    events = [
        {
            "event_id": f"{run}-{site}-{n}",
            "site": site,
            "user_id": visitor,
            "event_type": "click",
            "page_url": landing,
            "time_stamp": stamp(now - timedelta(minutes=2, seconds=n)),
        }
        for site, count in sites.items()
        for n in range(count)
    ]
    with httpx.Client(timeout=10) as client:
        answer = client.post(dashboard.stack.url("ingest") + "/ingest", json=events)
        assert answer.status_code == 202, answer.text
        window = {"from": stamp(now - timedelta(hours=1)), "to": stamp(now + timedelta(hours=1))}
        for site, count in sites.items():
            eventually(
                partial(
                    _site_counted,
                    client,
                    f"{dashboard.url}/api/v1/overview",
                    {**window, "site": site},
                    count,
                ),
                f"the API never counted every event of site {site}",
            )
        eventually(
            partial(_sites_listed, client, f"{dashboard.url}/api/v1/sites", set(sites)),
            f"/api/v1/sites never listed {sorted(sites)}",
        )

    open_dashboard(page, dashboard, f"?range=15m&user={visitor}")
    switcher = page.get_by_label("Site", exact=True)
    expect(switcher).to_have_value("default")
    for site in sites:
        expect(switcher.locator(f'option[value="{site}"]')).to_have_text(site)
    total = page.locator('[data-kpi="total_events"]')
    panel = page.locator("#user-panel")
    for site, count in sites.items():
        switcher.select_option(site)
        expect(page).to_have_url(re.compile(rf"\?(.*&)?site={re.escape(site)}(&|$)"))
        expect(page).to_have_url(re.compile(r"[?&]range=15m(&|$)"))
        expect(page.locator("#kpis")).to_have_attribute("aria-busy", "false")
        expect(total).to_have_attribute("data-value", str(count))
        expect(page.locator('[data-kpi="distinct_users"]')).to_have_attribute("data-value", "1")
        assert rows(page, "pages-table-body") == [[landing, landing, str(count)]]
        expect(panel).to_have_attribute("data-total", str(count))
        settled(lambda: screen_versus_api(page, dashboard))

    # the last site chosen survives a reload, and the export names it
    last, last_count = list(sites.items())[-1]
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-state", "ok", timeout=20_000)
    expect(switcher).to_have_value(last)
    expect(total).to_have_attribute("data-value", str(last_count))
    with page.expect_download() as download:
        page.click("#export")
    assert download.value.suggested_filename.startswith(f"clickstream-{last}-")

    # a link to a site the gateway does not list keeps it chosen (a site without events)
    unlisted = f"none-{run}.example"
    open_dashboard(page, dashboard, f"?range=15m&site={unlisted}")
    expect(switcher).to_have_value(unlisted)
    expect(switcher.locator("option:checked")).to_have_text(f"{unlisted} (not listed)")
    expect(total).to_have_attribute("data-value", "0")


def test_event_data_is_rendered_as_text(page: Page, dashboard: Dashboard, sent: Sent) -> None:
    open_dashboard(page, dashboard, f"?range=15m&user={quote(HOSTILE_USER)}")
    panel = page.locator("#user-panel")
    expect(panel).to_have_attribute("data-total", "2")
    expect(panel.locator("[data-part=user-title]")).to_have_text(HOSTILE_USER)
    assert rows(page, "user-table-body")[0][:2] == [HOSTILE_PAGE, HOSTILE_PAGE]
    page.fill("#page-filter", HOSTILE_PAGE)
    page.press("#page-filter", "Enter")
    expect(page.locator("#series-title")).to_have_text(f"Events per minute on {HOSTILE_PAGE}")
    settled(lambda: screen_versus_api(page, dashboard))
    assert sum(number(count) for _, _, count in rows(page, "series-table-body")) == 2
    # nothing ran and nothing was parsed into elements
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main script, main img, main b").count() == 0
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page.content()
    page.screenshot(path=dashboard.shots / "hostile-text.png", full_page=True)


def test_query_down_shows_the_banner_then_recovers(
    page: Page, dashboard: Dashboard, sent: Sent
) -> None:
    open_dashboard(page, dashboard, "?range=15m")
    page.select_option("#interval", "2")
    banner = page.locator("#banner")
    expect(banner).to_be_hidden()
    stack = dashboard.stack
    query = stack.processes["query"]
    query.terminate()
    query.wait(15)
    try:
        # answers cached for this minute's range may still come: allow a minute boundary
        expect(banner).to_be_visible(timeout=75_000)
        expect(banner).to_contain_text("Query service unreachable")
        expect(page.locator("body")).to_have_attribute("data-state", "error")
        # the last good figures stay on screen
        expect(page.locator('[data-kpi="total_events"] .kpi-value')).not_to_be_empty()
        page.screenshot(path=dashboard.shots / "error-banner.png", full_page=True)
    finally:
        stack.spawn("query")
        stack.wait_ready()
    expect(banner).to_be_hidden(timeout=60_000)
    expect(page.locator("body")).to_have_attribute("data-state", "ok")
    expect(page.locator("#status")).to_have_text("Connection restored: live data again.")
    settled(lambda: screen_versus_api(page, dashboard))
