"""GraphiQL in a real browser (Debian's chromium), with every request off this host refused."""

from __future__ import annotations

import os
import shutil
from urllib.parse import quote, urlsplit

import pytest
from support import TEST_PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("ARCHIVIST_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is required (ARCHIVIST_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return CHROMIUM


def test_graphiql_runs_a_query_offline(live_server: str, make_user, chromium_path: str) -> None:
    from playwright.sync_api import sync_playwright

    make_user("alice")
    query = 'mutation { login(username: "alice", password: "PASSWORD") { user { username } } }'
    query = query.replace("PASSWORD", TEST_PASSWORD)
    elsewhere: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()

            def only_this_server(route, request) -> None:  # type: ignore[no-untyped-def]
                if urlsplit(request.url).hostname in ("127.0.0.1", "localhost"):
                    route.continue_()
                else:
                    elsewhere.append(request.url)
                    route.abort()

            page.route("**/*", only_this_server)
            page.goto(f"{live_server}/graphql?query={quote(query)}")
            page.locator(".graphiql-execute-button").click(timeout=30_000)
            response = page.locator(".graphiql-response")
            response.get_by_text('"username": "alice"').wait_for(timeout=30_000)
            assert '"login"' in response.inner_text()
        finally:
            browser.close()
    assert elsewhere == []
