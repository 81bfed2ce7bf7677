"""GraphiQL in a real browser (Debian's chromium), with every request off this host refused."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest
from support import TEST_PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_graphiql_shows_a_refused_subscription_at_once(
    live_server: str, chromium_path: str
) -> None:
    """A websocket refused with 4403 (here: no token) is not retried for 40 s: the reason
    shows within seconds."""
    import time

    from playwright.sync_api import sync_playwright

    query = "subscription { documentsProgress { status } }"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            page.goto(f"{live_server}/graphql?query={quote(query)}")
            page.locator(".graphiql-execute-button").click(timeout=30_000)
            started = time.monotonic()
            response = page.locator(".graphiql-response")
            response.get_by_text("4403").first.wait_for(timeout=30_000)
            elapsed = time.monotonic() - started
            assert "UNAUTHENTICATED" in response.inner_text()
        finally:
            browser.close()
    assert elapsed < 10, elapsed


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
