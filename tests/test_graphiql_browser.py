"""GraphiQL in a real browser (Debian's chromium), with every request off this host refused."""

from __future__ import annotations

import time
from urllib.parse import quote, urlsplit

import pytest
from conftest import OfflineBrowser
from support import TEST_PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_graphiql_shows_a_refused_subscription_at_once(
    live_server: str, offline_browser: OfflineBrowser
) -> None:
    """A websocket refused with 4403 (here: no token) is not retried for 40 s: the reason
    shows within seconds."""
    query = "subscription { documentsProgress { status } }"
    page = offline_browser.new_page(urlsplit(live_server).netloc)
    page.goto(f"{live_server}/graphql?query={quote(query)}")
    page.locator(".graphiql-execute-button").click(timeout=30_000)
    started = time.monotonic()
    response = page.locator(".graphiql-response")
    response.get_by_text("4403").first.wait_for(timeout=30_000)
    elapsed = time.monotonic() - started
    assert "UNAUTHENTICATED" in response.inner_text()
    assert elapsed < 10, elapsed
    assert offline_browser.refused == []


def test_graphiql_runs_a_query_offline(
    live_server: str, make_user, offline_browser: OfflineBrowser
) -> None:
    make_user("alice")
    query = 'mutation { login(username: "alice", password: "PASSWORD") { user { username } } }'
    query = query.replace("PASSWORD", TEST_PASSWORD)
    page = offline_browser.new_page(urlsplit(live_server).netloc)
    page.goto(f"{live_server}/graphql?query={quote(query)}")
    page.locator(".graphiql-execute-button").click(timeout=30_000)
    response = page.locator(".graphiql-response")
    response.get_by_text('"username": "alice"').wait_for(timeout=30_000)
    assert '"login"' in response.inner_text()
    assert offline_browser.refused == []
