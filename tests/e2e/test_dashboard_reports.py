"""The dashboard's reports in headless Chromium against the real stack: a site of its own with
known visitors, so every panel's rows are known by hand; a click on a row filters the whole
dashboard, the chip undoes it, and the filter lives in the address bar (reload, back,
forward). The visit figures, the funnel and entry pages need `process` to keep visits.
Screenshots in light and dark, desktop and phone, in the pytest temporary directory."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.dashboard import (
    DESKTOP,
    PHONE,
    ROWS_JS,
    Dashboard,
    api,
    change_text,
    js_round,
    moment,
    open_dashboard,
    screen_versus_api,
    settled,
    shown_filters,
    shown_range,
    shown_site,
    stamp,
)
from tests.fixtures.polling import eventually
from tests.fixtures.user_agents import BROWSERS

pytestmark = pytest.mark.e2e

FIREFOX, IPHONE, CHROME = (
    next(seen for seen in BROWSERS if seen.name == name)
    for name in ("firefox-ubuntu", "iphone", "chrome-windows")
)
US, GB = "8.8.8.8", "81.2.69.142"  # what the shipped country database says of them
LANDING_UTM = "/landing?utm_source=news&utm_medium=email&utm_campaign=launch"
FUNNEL = "&step=page:/pricing&step=event_type:signup"
# ann and ben arrive from two sites, cat directly; dan came in the hour before
VISITS = {
    "ann": (
        FIREFOX,
        US,
        "https://news.example/story",
        [(LANDING_UTM, "pageview", 12), ("/pricing", "pageview", 11), ("/pricing", "signup", 10)],
    ),
    "ben": (
        IPHONE,
        GB,
        "https://www.search.example/?q=shop",
        [("/landing", "pageview", 9), ("/pricing", "pageview", 8)],
    ),
    "cat": (CHROME, US, None, [("/docs", "pageview", 1)]),
    "dan": (CHROME, US, None, [("/landing", "pageview", 80), ("/pricing", "pageview", 79)]),
}


@dataclass(frozen=True)
class World:
    site: str
    # the last two hours, the seeded events' times
    window: dict[str, str]

    def query(self, extra: str = "") -> str:
        return f"?site={self.site}&range=1h{extra}"


def _answers(url: str, params: dict[str, str], key: str, want: int) -> bool:
    answer = httpx.get(url, params=params, timeout=10)
    return answer.status_code == 200 and answer.json()[key] == want


@pytest.fixture(scope="module")
def world(dashboard: Dashboard) -> World:
    """Sends the visits through ingest (each event with its sender's User-Agent and address),
    and waits until the API counts every event."""
    site = f"reports-{uuid.uuid4().hex[:6]}.example"
    now = datetime.now(UTC)
    events = [
        {
            "event_id": f"{site}-{user}-{n}",
            "site": site,
            "user_id": user,
            "event_type": event_type,
            "page_url": page_url,
            "time_stamp": stamp(now - timedelta(minutes=minutes_ago)),
            "user_agent": agent.user_agent,
            "client_ip": address,
            **({"referrer": referrer} if referrer else {}),
        }
        for user, (agent, address, referrer, steps) in VISITS.items()
        for n, (page_url, event_type, minutes_ago) in enumerate(steps)
    ]
    answer = httpx.post(dashboard.stack.url("ingest") + "/ingest", json=events, timeout=10)
    assert answer.status_code == 202, answer.text
    window = {"site": site, "from": stamp(now - timedelta(hours=2)), "to": stamp(now)}
    eventually(
        partial(_answers, dashboard.url + "/api/v1/overview", window, "total_events", len(events)),
        f"the API never counted the {len(events)} events of {site}",
    )
    return World(site=site, window=window)


def panel_rows(page: Page, card: str) -> list[list[str]]:
    """A report card's rows: [the API's value, then the text of each cell]."""
    found: list[list[str]] = page.eval_on_selector_all(f"#{card} tbody tr", ROWS_JS)
    return found


def visitors(page: Page, card: str) -> dict[str, int]:
    return {key: int(cells[-1]) for key, *cells in panel_rows(page, card)}


def wait_loaded(page: Page) -> None:
    for card in ("#kpis", "#report-sources", "#report-devices", "#goals-card", "#funnel-card"):
        expect(page.locator(card)).to_have_attribute("aria-busy", "false")


def point_change_text(current: float, previous: float) -> str:
    """The dashboard's wording of a rate's change (src/format.ts pointChange)."""
    points = js_round((current - previous) * 100)
    if points == 0:
        return "no change"
    return f"{'+' if points > 0 else chr(0x2212)}{abs(points)} pp"


def visits_versus_api(page: Page, dashboard: Dashboard) -> list[str]:
    """The visit cards against /api/v1/visits now and the period before, under the filters."""
    shown = shown_range(page)
    span = moment(shown["to"]) - moment(shown["from"])
    window: dict[str, str | list[str]] = {
        "site": shown_site(page),
        "from": shown["from"],
        "to": shown["to"],
        "filter": shown_filters(page),
    }
    now = api(dashboard, "/api/v1/visits", **window)
    before = api(
        dashboard,
        "/api/v1/visits",
        **{**window, "from": stamp(moment(shown["from"]) - span), "to": shown["from"]},
    )
    problems = []
    for kpi in ("visits", "bounce_rate", "mean_duration_s", "views_per_visit"):
        card = page.locator(f'#visit-kpis [data-kpi="{kpi}"]')
        value, old = now[kpi], before[kpi]
        assert isinstance(value, int | float)
        assert isinstance(old, int | float)
        if float(card.get_attribute("data-value") or "nan") != value:
            problems.append(f"{kpi}: screen {card.get_attribute('data-value')}, API {value}")
        # a rate changes in percentage points, every other figure in per cent
        wanted = (point_change_text if kpi == "bounce_rate" else change_text)(value, old)
        if card.locator(".trend").text_content() != wanted:
            problems.append(f"{kpi} change: {card.locator('.trend').text_content()}, {wanted}")
    return problems


def test_panels_show_the_seeded_events(page: Page, dashboard: Dashboard, world: World) -> None:
    open_dashboard(page, dashboard, world.query(FUNNEL))
    wait_loaded(page)
    assert panel_rows(page, "report-sources") == [
        ["news.example", "news.example", "1"],
        ["search.example", "search.example", "1"],
        ["(direct)", "(direct)", "1"],
    ]
    assert visitors(page, "report-pages") == {
        "/pricing": 2,
        LANDING_UTM: 1,
        "/landing": 1,
        "/docs": 1,
    }
    assert panel_rows(page, "report-pages")[0][0] == "/pricing"
    assert panel_rows(page, "report-locations") == [
        ["US", "United States", "2"],
        ["GB", "United Kingdom", "1"],
    ]
    assert panel_rows(page, "report-devices") == [
        ["Firefox", "Firefox", "1"],
        ["Mobile Safari", "Mobile Safari", "1"],
        ["Chrome", "Chrome", "1"],
    ]
    # the bars: the top row full length, the others in proportion
    widths = page.eval_on_selector_all(
        "#report-locations .bar-fill", "bars => bars.map(bar => bar.style.width)"
    )
    assert widths == ["100%", "50%"]

    # tabs switch a panel's dimension
    page.click('#report-devices button[data-dimension="device"]')
    expect(page.locator("#report-devices")).to_have_attribute("data-dimension", "device")
    expect(page.locator("#report-devices tbody tr").first).to_have_attribute("data-key", "desktop")
    assert panel_rows(page, "report-devices") == [
        ["desktop", "desktop", "2"],
        ["mobile", "mobile", "1"],
    ]
    page.click('#report-sources button[data-dimension="utm_campaign"]')
    expect(page.locator("#report-sources tbody tr").first).to_have_attribute("data-key", "(none)")
    assert panel_rows(page, "report-sources") == [
        ["(none)", "(none)", "3"],
        ["launch", "launch", "1"],
    ]

    # goals: the range's event types, as none are named; the funnel: the address's steps
    assert panel_rows(page, "goals-card") == [
        ["event_type:pageview", "pageview", "3", "100%"],
        ["event_type:signup", "signup", "1", "33%"],
    ]
    expect(page.locator("#funnel-card li")).to_have_count(2)

    # every figure is the API's, each against the hour before
    expect(page.locator("#visit-kpis .kpi")).to_have_count(4)
    settled(lambda: visits_versus_api(page, dashboard))
    settled(lambda: screen_versus_api(page, dashboard))

    # visitors now: cat, a minute ago (and whoever the API counts by the time it is asked)
    realtime = page.locator("#realtime")
    expect(realtime).to_have_text(re.compile(r"\d+ visitors? now"))
    settled(lambda: _realtime_versus_api(page, dashboard, world))

    _screenshots(page, dashboard, "reports")


def test_visit_figures_funnel_and_entry_pages(
    page: Page, dashboard: Dashboard, world: World
) -> None:
    """ann's visit of three events in two minutes, ben's of two in one, cat's bounce; dan's one
    visit in the hour before."""
    url = dashboard.url + "/api/v1/visits"
    eventually(partial(_answers, url, world.window, "visits", len(VISITS)), "no visits")
    open_dashboard(page, dashboard, world.query(FUNNEL))
    wait_loaded(page)
    cards = page.locator("#visit-kpis .kpi")
    values = {
        card.get_attribute("data-kpi"): card.locator(".kpi-value").text_content()
        for card in cards.all()
    }
    assert values == {
        "visits": "3",
        "bounce_rate": "33%",
        "mean_duration_s": "1 min",
        "views_per_visit": "2",
    }
    expect(page.locator('#visit-kpis [data-kpi="visits"] .trend')).to_have_text("+200%")
    expect(page.locator('#visit-kpis [data-kpi="bounce_rate"] .trend')).to_have_text("+33 pp")
    settled(lambda: visits_versus_api(page, dashboard))
    steps = page.eval_on_selector_all(
        "#funnel-card li",
        "items => items.map(item => [item.dataset.key, item.textContent])",
    )
    assert steps == [
        ["page:/pricing", "1. Visit /pricing2 visitors \u00b7 100%"],
        ["event_type:signup", "2. signup1 visitor \u00b7 50% \u00b7 1 dropped off"],
    ]
    page.click('#report-pages button[data-dimension="entry_page"]')
    expect(page.locator("#report-pages")).to_have_attribute("aria-busy", "false")
    assert visitors(page, "report-pages") == {LANDING_UTM: 1, "/landing": 1, "/docs": 1}
    page.click('#report-pages button[data-dimension="exit_page"]')
    expect(page.locator("#report-pages")).to_have_attribute("aria-busy", "false")
    assert visitors(page, "report-pages") == {"/pricing": 2, "/docs": 1}

    # a visit-level row filters too: the one visit that left from /docs is cat's bounce
    page.click('#report-pages tbody button:text-is("/docs")')
    expect(page.locator("#filters .chip")).to_have_count(1)
    expect(page.locator('#visit-kpis [data-kpi="visits"]')).to_have_attribute("data-value", "1")
    expect(page.locator('#visit-kpis [data-kpi="bounce_rate"] .kpi-value')).to_have_text("100%")
    settled(lambda: visits_versus_api(page, dashboard))
    settled(lambda: screen_versus_api(page, dashboard))
    _screenshots(page, dashboard, "reports-visits")


def _realtime_versus_api(page: Page, dashboard: Dashboard, world: World) -> list[str]:
    shown = page.locator("#realtime").get_attribute("data-visitors")
    now = api(dashboard, "/api/v1/realtime", site=world.site)["visitors"]
    assert isinstance(now, int)
    return [] if shown == str(now) else [f"visitors now: screen {shown}, API {now}"]


def _screenshots(page: Page, dashboard: Dashboard, name: str) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=dashboard.shots / f"{name}-desktop-{scheme}.png", full_page=True)
        page.set_viewport_size(PHONE)
        # charts resize on the next frames; then nothing may stick out sideways
        page.wait_for_function("document.documentElement.scrollWidth <= window.innerWidth")
        page.wait_for_timeout(300)
        page.screenshot(path=dashboard.shots / f"{name}-phone-{scheme}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(DESKTOP)


def test_a_clicked_row_filters_the_whole_dashboard(
    page: Page, dashboard: Dashboard, world: World
) -> None:
    open_dashboard(page, dashboard, world.query())
    wait_loaded(page)
    total = page.locator('[data-kpi="total_events"]')
    expect(total).to_have_attribute("data-value", "6")
    chips = page.locator("#filters .chip")
    expect(chips).to_have_count(0)

    page.click('#report-devices tbody button:text-is("Mobile Safari")')
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("Browser is Mobile Safari")
    expect(page).to_have_url(re.compile(r"[?&]filter=browser%3Ais%3AMobile(\+|%20)Safari(&|$)"))
    _shows_ben_only(page, dashboard)

    # a second click ANDs another dimension's filter
    page.click('#report-locations tbody button:text-is("United Kingdom")')
    expect(chips).to_have_count(2)
    expect(chips.nth(1)).to_contain_text("Country is GB")
    _shows_ben_only(page, dashboard)

    # the filters survive a reload
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-state", "ok", timeout=20_000)
    expect(chips).to_have_count(2)
    _shows_ben_only(page, dashboard)

    # back undoes a filter, forward redoes it
    page.go_back()
    expect(chips).to_have_count(1)
    _shows_ben_only(page, dashboard)
    page.go_back()
    expect(chips).to_have_count(0)
    expect(total).to_have_attribute("data-value", "6")
    page.go_forward()
    expect(chips).to_have_count(1)
    _shows_ben_only(page, dashboard)
    _screenshots(page, dashboard, "reports-filtered")

    # removing the chip restores every figure
    page.click('#filters button[aria-label="Remove filter: Browser is Mobile Safari"]')
    expect(chips).to_have_count(0)
    expect(page).not_to_have_url(re.compile(r"filter="))
    expect(total).to_have_attribute("data-value", "6")
    wait_loaded(page)
    assert len(panel_rows(page, "report-sources")) == 3
    assert visitors(page, "report-locations") == {"US": 2, "GB": 1}
    settled(lambda: screen_versus_api(page, dashboard))
    settled(lambda: visits_versus_api(page, dashboard))


def _shows_ben_only(page: Page, dashboard: Dashboard) -> None:
    """Under ben's browser or country: his two pages, his source, his country, his one visit."""
    expect(page.locator('[data-kpi="total_events"]')).to_have_attribute("data-value", "2")
    wait_loaded(page)
    expect(page.locator('[data-kpi="distinct_users"]')).to_have_attribute("data-value", "1")
    assert panel_rows(page, "report-sources") == [["search.example", "search.example", "1"]]
    assert visitors(page, "report-pages") == {"/landing": 1, "/pricing": 1}
    assert panel_rows(page, "report-locations") == [["GB", "United Kingdom", "1"]]
    assert panel_rows(page, "goals-card") == [["event_type:pageview", "pageview", "1", "100%"]]
    # the comparison with the hour before keeps the filters: dan used Chrome in the US
    settled(lambda: screen_versus_api(page, dashboard))
    settled(lambda: visits_versus_api(page, dashboard))
    expect(page.locator('[data-kpi="total_events"] .trend')).to_have_text("new")


def test_an_api_error_shows_in_its_panel(page: Page, dashboard: Dashboard, world: World) -> None:
    # one funnel step and a goal that is none: the gateway rejects both, naming the parameter
    open_dashboard(page, dashboard, world.query("&step=page:/pricing&goal=" + quote("nonsense")))
    for card, field in (("#funnel-card", "step"), ("#goals-card", "goal")):
        expect(page.locator(card)).to_have_attribute("data-state", "error")
        expect(page.locator(f"{card} .report-note")).to_contain_text(
            f"The gateway rejected {field}"
        )
        expect(page.locator(f"{card} .report-note")).to_be_visible()
    # the rest of the dashboard is untouched
    expect(page.locator("#banner")).to_be_hidden()
    expect(page.locator('[data-kpi="total_events"]')).to_have_attribute("data-value", "6")
    expect(page.locator("#report-sources")).to_have_attribute("data-state", "rows")
    page.screenshot(path=dashboard.shots / "reports-panel-error.png", full_page=True)
