"""The dashboard behind tokens, in headless Chromium against real `query` and `gateway`
processes: it asks for a token in its sign-in form, says when a token is refused, shows the
key figures once signed in (the token in the tab's sessionStorage, never in the address),
and shows the form again after signing out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.fixtures.dashboard import DESKTOP
from tests.fixtures.functions import running_function
from tests.fixtures.query_server import running_query

pytestmark = pytest.mark.e2e

READ_TOKEN = "csr_signin-test-0123456789abcdef"


@pytest.fixture(scope="module")
def gateway_url(
    dashboard_dist: Path,
    database_url: str,
    redis_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("signin")
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with running_query(env, logs / "query.log") as query:
        gateway_env = {
            **env,
            "QUERY_ADDR": query.address,
            "GATEWAY_READ_TOKENS": READ_TOKEN,
            "DASHBOARD_DIR": str(dashboard_dist),
        }
        with running_function("functions.gateway", gateway_env, logs / "gateway.log") as url:
            yield url


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport=DESKTOP, locale="en-US", timezone_id="UTC")
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, token: str) -> None:
    field = page.locator("#signin-token")
    expect(field).to_have_attribute("type", "password")
    field.fill(token)
    page.get_by_role("button", name="Sign in").click()


def test_the_gateway_wants_a_token(gateway_url: str) -> None:
    assert httpx.get(f"{gateway_url}/api/v1/overview").status_code == 401


def test_signs_in_from_its_form_shows_the_figures_and_signs_out(
    page: Page, gateway_url: str
) -> None:
    page.goto(f"{gateway_url}/")
    body = page.locator("body")
    expect(body).to_have_attribute("data-state", "signin", timeout=20_000)
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#signin-message")).to_contain_text("needs a token")
    expect(page.locator("#main")).to_be_hidden()

    sign_in(page, "csr_not-a-token-0123456789abcdef")
    expect(page.locator("#signin-message")).to_contain_text("wrong, revoked or expired")
    expect(body).to_have_attribute("data-state", "signin")

    sign_in(page, READ_TOKEN)
    expect(body).to_have_attribute("data-state", "ok", timeout=20_000)
    expect(page.locator("#signin")).to_be_hidden()
    kpis = page.locator("#kpis [data-kpi]")
    expect(kpis.first).to_be_visible()
    assert kpis.count() >= 4
    assert READ_TOKEN not in page.url
    stored = page.evaluate("() => sessionStorage.getItem('clickstream.token')")
    assert stored == READ_TOKEN

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#signin-message")).to_contain_text("Signed out")
    expect(page.locator("#main")).to_be_hidden()
    assert page.evaluate("() => sessionStorage.getItem('clickstream.token')") is None


def test_a_shared_link_signs_in_and_leaves_the_address_bar(page: Page, gateway_url: str) -> None:
    page.goto(f"{gateway_url}/#token={READ_TOKEN}")
    expect(page.locator("body")).to_have_attribute("data-state", "ok", timeout=20_000)
    assert "token" not in page.url
    expect(page.locator("#signout")).to_be_visible()
