"""Enrichment on the real parsers (ua-parser's rules, iptocc's database): no I/O."""

from __future__ import annotations

import ipaddress
import string
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from functions.core.events import (
    ENRICHMENT_FIELDS,
    NO_HINTS,
    ClickEvent,
    SenderHints,
    event_data,
    parse_event,
)
from functions.ingest.enrich import (
    Agents,
    Client,
    Enricher,
    client_address,
    country_code,
    referrer_host,
    trusted_networks,
    utm,
)
from tests.fixtures.user_agents import BROWSERS, CRAWLERS, LIBRARIES, Seen

DEFAULT_PROXIES = [
    ipaddress.ip_network(n)
    for n in ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
]
AGENTS = Agents()
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def click(**fields: object) -> ClickEvent:
    raw = {"event_id": "e1", "user_id": "u1", "event_type": "click", "page_url": "/", **fields}
    return parse_event(raw, received_at=NOW)


@pytest.mark.parametrize("seen", BROWSERS, ids=lambda s: s.name)
def test_browsers_are_named(seen: Seen) -> None:
    agent = AGENTS.parse(seen.user_agent)
    assert (agent.browser, agent.os, agent.device, agent.bot) == (
        seen.browser,
        seen.os,
        seen.device,
        False,
    )


@pytest.mark.parametrize("seen", CRAWLERS, ids=lambda s: s.name)
def test_crawlers_are_bots(seen: Seen) -> None:
    assert AGENTS.parse(seen.user_agent).bot


@pytest.mark.parametrize("user_agent", [*LIBRARIES, "", "x" * 10_000])
def test_libraries_and_nothing_are_no_bots(user_agent: str) -> None:
    agent = AGENTS.parse(user_agent)
    assert not agent.bot
    assert agent.device is None


def test_parsed_user_agents_are_cached() -> None:
    agents = Agents(entries=2)
    for seen in BROWSERS[:3]:
        agents.parse(seen.user_agent)
    agents.parse(BROWSERS[2].user_agent)
    info = agents.cache_info()
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (1, 3, 2, 2)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", ["8.8.8.8"], "203.0.113.9"),  # an untrusted peer's header is ignored
        ("127.0.0.1", ["8.8.8.8, 10.0.0.2"], "8.8.8.8"),  # the first hop
        ("10.1.2.3", ["8.8.4.4", "1.1.1.1"], "8.8.4.4"),  # the first header's first hop
        ("192.168.0.5", [" 2001:4860:4860::8888 "], "2001:4860:4860::8888"),
        ("::1", ["[2001:db8::1]:443"], "2001:db8::1"),
        ("127.0.0.1", ["8.8.8.8:1234"], "8.8.8.8"),
        ("::ffff:10.0.0.1", ["1.1.1.1"], "1.1.1.1"),  # an IPv4 peer seen through IPv6
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["unknown"], None),  # the proxy does not know: nobody does
        (None, ["8.8.8.8"], None),
        ("not-an-address", ["8.8.8.8"], None),
    ],
)
def test_client_address(peer: str | None, forwarded: list[str], client: str | None) -> None:
    found = client_address(peer, forwarded, trusted_networks(DEFAULT_PROXIES))
    assert (None if found is None else str(found)) == client


def test_no_trusted_proxy_believes_no_header() -> None:
    assert str(client_address("127.0.0.1", ["8.8.8.8"], ())) == "127.0.0.1"


@given(st.text(max_size=60))
def test_addresses_never_raise(text: str) -> None:
    Client.parse(text)
    client_address("127.0.0.1", [text], trusted_networks(DEFAULT_PROXIES))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("US", "US"),
        ("gb", "GB"),
        ("XX", None),
        ("T1", None),
        ("EU", None),
        ("USA", None),
        ("", None),
    ],
)
def test_country_codes(text: str, code: str | None) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize(
    ("referrer", "host"),
    [
        ("https://www.Google.com/search?q=x", "google.com"),
        ("http://news.ycombinator.com/item?id=1", "news.ycombinator.com"),
        ("https://user:pw@WWW.example.org:8443/a", "example.org"),
        ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ("https://wwwx.example/", "wwwx.example"),
        ("/relative/path", None),
        ("https://[::1/", None),
        ("", None),
        (None, None),
    ],
)
def test_referrer_host(referrer: str | None, host: str | None) -> None:
    assert referrer_host(referrer) == host


@pytest.mark.parametrize(
    ("page_url", "found"),
    [
        ("/p?utm_source=news&utm_medium=email&utm_campaign=dec", ("news", "email", "dec")),
        (
            "https://x.io/p?a=1&utm_source=Twitter+Ads&utm_campaign=%C3%A9t%C3%A9",
            ("Twitter Ads", None, "été"),
        ),
        ("/p?utm_source=a&utm_source=b", ("a", None, None)),
        ("/p?utm_source=&utm_medium=%00%01", (None, None, None)),
        ("/p#utm_source=fragment", (None, None, None)),
        ("/p?utm_source=" + "x" * 300, ("x" * 256, None, None)),
        ("https://[::1/?utm_source=x", (None, None, None)),
        ("/pricing", (None, None, None)),
    ],
)
def test_utm(page_url: str, found: tuple[str | None, ...]) -> None:
    assert utm(page_url) == found


# what a hostile sender can put in a URL: anything, and URL syntax in odd places
url_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.text(
    alphabet=string.printable + "%[]@:#?&=+é\x00\u2028\ud7ff", max_size=80
)
hostile_urls = st.builds(
    lambda scheme, host, query: f"{scheme}{host}?{query}",
    st.sampled_from(["", "/", "http://", "https://", "//", "a:", "http://["]),
    url_text,
    st.lists(
        st.tuples(st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "x"]), url_text),
        max_size=4,
    ).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)),
)


@given(st.one_of(url_text, hostile_urls), st.one_of(st.none(), url_text, hostile_urls))
def test_hostile_urls_never_raise_and_give_storable_values(
    page_url: str, referrer: str | None
) -> None:
    source, medium, campaign = utm(page_url)
    host = referrer_host(referrer)
    fields = {
        "utm_source": source,
        "utm_medium": medium,
        "utm_campaign": campaign,
        "referrer_host": host,
    }
    # what process will hold them to (the model, control characters included)
    event = msgspec.convert(
        {"event_id": "e", "user_id": "u", "event_type": "click", "page_url": "/", **fields},
        ClickEvent,
    )
    for value in fields.values():
        assert value is None or (value.isprintable() and value == value.strip())
    assert parse_event(msgspec.to_builtins(event), received_at=NOW) is not None


def test_the_user_agent_is_parsed_once_per_request() -> None:
    agents = Agents()
    enrich = Enricher(DEFAULT_PROXIES, agents=agents).for_request(
        {"user-agent": BROWSERS[1].user_agent}, "127.0.0.1", []
    )
    enriched = [enrich(click(event_id=f"e{n}"), NO_HINTS) for n in range(100)]
    assert {e.browser for e in enriched if e is not None} == {"Firefox"}
    assert (agents.cache_info().hits, agents.cache_info().misses) == (0, 1)


def test_enricher_sets_every_field() -> None:
    enricher = Enricher(DEFAULT_PROXIES, agents=AGENTS)
    chrome = BROWSERS[0]
    enrich = enricher.for_request(
        {"user-agent": chrome.user_agent}, "10.0.0.7", ["8.8.8.8, 10.0.0.1"]
    )
    event = enrich(
        click(
            page_url="https://shop.example/p?utm_source=news&utm_medium=email&utm_campaign=dec",
            referrer="https://www.google.com/",
        ),
        NO_HINTS,
    )
    assert event is not None
    assert {name: getattr(event, name) for name in ENRICHMENT_FIELDS} == {
        "browser": "Chrome",
        "os": "Windows",
        "device": "desktop",
        "country": "US",
        "referrer_host": "google.com",
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "dec",
    }
    # what goes on to Kafka: the enrichment, never an address
    assert "8.8.8.8" not in msgspec.json.encode(event_data(event)).decode()


def test_bots_are_dropped_and_hints_stand_in_for_the_request() -> None:
    enricher = Enricher(DEFAULT_PROXIES, agents=AGENTS)
    bot = enricher.for_request({"user-agent": CRAWLERS[0].user_agent}, "127.0.0.1", [])
    assert bot(click(), NO_HINTS) is None
    iphone = SenderHints(BROWSERS[4].user_agent, ipaddress.ip_address("81.2.69.142"))
    relayed = bot(click(), iphone)  # a server relaying a person's click
    assert relayed is not None
    assert (relayed.browser, relayed.device, relayed.country) == ("Mobile Safari", "mobile", "GB")
    server = enricher.for_request({"user-agent": "python-requests/2.32.3"}, "127.0.0.1", [])
    crawled = SenderHints(CRAWLERS[2].user_agent, None)
    assert server(click(), crawled) is None


def test_country_header_when_configured_else_the_address() -> None:
    enricher = Enricher(DEFAULT_PROXIES, country_header="cf-ipcountry", agents=AGENTS)
    headers = {"cf-ipcountry": "de"}
    assert (
        enricher.for_request(headers, "8.8.8.8", [])(click(), NO_HINTS) or click()
    ).country == "DE"
    unknown = {"cf-ipcountry": "XX"}
    assert (
        enricher.for_request(unknown, "8.8.8.8", [])(click(), NO_HINTS) or click()
    ).country == "US"
    private = enricher.for_request({}, "10.0.0.1", [])(click(), NO_HINTS)
    assert private is not None
    assert private.country is None


def test_process_accepts_the_fields_and_holds_them_to_the_rules() -> None:
    event = click(browser="Chrome", device="tablet", country="FR", utm_source="news")
    assert (event.browser, event.device, event.country, event.utm_source) == (
        "Chrome",
        "tablet",
        "FR",
        "news",
    )
    assert event_data(event)["country"] == "FR"
    with pytest.raises(ValueError, match="device"):
        click(device="phone")
    with pytest.raises(ValueError, match="country"):
        click(country="usa")
    with pytest.raises(ValueError, match="utm_source"):
        click(utm_source="a\x00b")
