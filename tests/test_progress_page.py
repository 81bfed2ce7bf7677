"""The live progress page (``/ui/``) in a real browser (Debian's chromium), end to end.

Against a real ``archivist serve`` and a real worker, with every request off the server's
origin refused: log in, upload a born-digital 2-page PDF (the HTTP upload's own progress), see
both pages go from waiting to done over the subscription, open the document (previews and
text), search a word and find its highlight box on the word's ink, be told of a duplicate and
of a malformed search, keep the session over a reload, be signed out when the token is revoked
elsewhere (the server closes the socket), log out (the token is revoked). ``ARCHIVIST_UI_SCREENSHOT=path.png`` saves a screenshot of the page
(README's docs/progress-page.png is made that way).
"""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
import numpy
import pytest
from conftest import OfflineBrowser, serving
from PIL import Image
from samples import text_pdf
from support import TEST_PASSWORD

from archivist.core.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.browser]

PAGES = [["Board", "minutes", "of", "March"], ["Budget", "approved", "unanimously"]]

# Records every page square the page puts into the document list, in order (the squares are
# replaced on each change), so the test can tell states it showed from states it skipped.
WATCH_SQUARES = """() => {
  window.seenSquares = [];
  new MutationObserver((changes) => {
    for (const change of changes) for (const node of change.addedNodes) {
      if (!(node instanceof Element)) continue;
      const item = node.closest(".document") || node.querySelector(".document");
      if (!item) continue;
      for (const square of item.querySelectorAll(".page")) {
        window.seenSquares.push([item.dataset.documentId, square.dataset.number,
                                 square.dataset.status]);
      }
    }
  }).observe(document.getElementById("documents"), { childList: true, subtree: true });
}"""

# A DataTransfer holding one file, as a drop from the desktop brings it.
DROP_FILE = """([name, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "application/pdf" }));
  return transfer;
}"""


def _graphql(base: str, token: str, query: str, **variables: Any) -> Any:
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()


def _overlap(a: dict[str, float], b: dict[str, float]) -> float:
    """Intersection over union of two boxes given as x, y, width, height."""
    left, top = max(a["x"], b["x"]), max(a["y"], b["y"])
    right = min(a["x"] + a["width"], b["x"] + b["width"])
    bottom = min(a["y"] + a["height"], b["y"] + b["height"])
    inter = max(0.0, right - left) * max(0.0, bottom - top)
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union else 0.0


@pytest.fixture
def live_server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """A real server that checks open sockets' tokens every second (a revoked one ends soon)."""
    with serving(settings, tmp_path, ARCHIVIST_WS_RECHECK="1") as base:
        yield base


def test_the_progress_page_end_to_end(
    live_server: str,
    workers: Any,
    redis_client: Any,
    make_user: Any,
    tmp_path: Path,
    offline_browser: OfflineBrowser,
) -> None:
    from playwright.sync_api import expect

    make_user("alice")
    workers.start("w1")
    workers.wait_registered(redis_client, 1)
    pdf = text_pdf(tmp_path / "minutes.pdf", PAGES)
    origin = urlsplit(live_server).netloc
    sockets: list[str] = []
    frames: list[str] = []
    problems: list[str] = []

    page = offline_browser.new_page(origin, viewport={"width": 1360, "height": 1000})

    def on_socket(socket: Any) -> None:
        sockets.append(socket.url)
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_socket)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )

    # "/" leads to the page; a wrong password is said in words, with its code.
    page.goto(f"{live_server}/")
    assert urlsplit(page.url).path == "/ui/"
    page.fill("#login-username", "alice")
    page.fill("#login-password", "not the password")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("INVALID_CREDENTIALS")

    page.fill("#login-password", TEST_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#username")).to_have_text("alice")
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=30_000)
    token = page.evaluate("sessionStorage.getItem('archivist.token')")
    assert token

    # Upload with the file picker: the HTTP upload reports its own progress.
    page.evaluate(WATCH_SQUARES)
    page.set_input_files("#file-input", str(pdf))
    upload = page.locator(".upload").first
    expect(upload).to_have_attribute("data-state", "uploaded", timeout=30_000)
    expect(upload.locator(".upload-state")).to_have_text("ready", timeout=120_000)
    sent, total = (int(upload.get_attribute(name) or 0) for name in ("data-sent", "data-total"))
    assert sent == total >= pdf.stat().st_size, (sent, total)

    # Both pages go to done live, and the document to ready.
    document = page.locator(".document").first
    expect(document.locator(".page[data-status=DONE]")).to_have_count(2, timeout=120_000)
    expect(document).to_have_attribute("data-status", "READY", timeout=60_000)
    expect(document.locator(".count")).to_contain_text("2 / 2 pages")
    document_id = document.get_attribute("data-document-id")
    # Each page was shown waiting, then being read (only a STARTED event says so), then
    # done: the squares moved with the events.
    seen = page.evaluate("window.seenSquares")
    for number in ("1", "2"):
        shown = [status for doc, n, status in seen if doc == document_id and n == number]
        steps = [s for i, s in enumerate(shown) if i == 0 or shown[i - 1] != s]
        assert steps == ["PENDING", "PROCESSING", "DONE"], (number, shown)
    # The subscription delivered each page's completion.
    assert all(url == f"ws://{origin}/graphql" for url in sockets), sockets
    events = [
        message["payload"]["data"]["documentsProgress"]
        for message in map(json.loads, frames)
        if message.get("type") == "next" and message["payload"].get("data")
    ]
    done = [e["pageNumber"] for e in events
            if e["documentId"] == document_id and e["status"] == "PAGE_DONE"]  # fmt: skip
    assert sorted(done) == [1, 2], events

    # The document: each page's preview beside its text.
    document.locator("button.title").click()
    viewer = page.locator("#viewer")
    expect(viewer.locator(".viewer-page")).to_have_count(2, timeout=30_000)
    expect(viewer.locator("#viewer-title")).to_have_text("minutes")
    expect(viewer.locator("#viewer-title")).to_be_focused()  # where a reader starts
    for number, words in enumerate(PAGES, start=1):
        item = viewer.locator(f".viewer-page[data-page-number='{number}']")
        expect(item.locator(".page-text")).to_have_text(" ".join(words))
        image = item.locator("img")
        expect(image).to_be_visible()
        page.wait_for_function("(image) => image.complete && image.naturalWidth > 0",
                               arg=image.element_handle())  # fmt: skip

    # A malformed search says what is wrong, with its code.
    page.fill("#search-input", '"unbalanced phrase')
    page.press("#search-input", "Enter")
    expect(page.locator("#search-summary")).to_contain_text("INVALID_QUERY")

    # Search: the hit's preview with the word's box drawn over the word.
    page.fill("#search-input", "approved")
    page.press("#search-input", "Enter")
    hit = page.locator(f".hit[data-document-id='{document_id}']")
    expect(hit).to_have_count(1, timeout=30_000)
    expect(hit.locator(".snippet mark")).to_have_text("approved")
    box = hit.locator(".highlight")
    expect(box).to_have_count(1)
    image = hit.locator(".preview img")
    page.wait_for_function("(image) => image.complete && image.naturalWidth > 0",
                           arg=image.element_handle())  # fmt: skip
    drawn = box.bounding_box()
    shown = image.bounding_box()
    assert drawn and shown
    # Where the word is, by its own box on the page (points), scaled to the image.
    words = _graphql(
        live_server, token,
        "query($id: ID!) { document(id: $id) { pages(first: 2) { edges { node {"
        " number width words { text x0 y0 x1 y1 } } } } } }",
        id=document_id,
    )["data"]["document"]["pages"]["edges"][1]["node"]  # fmt: skip
    word = next(w for w in words["words"] if w["text"] == "approved")
    scale = shown["width"] / words["width"]
    expected = {
        "x": shown["x"] + word["x0"] * scale,
        "y": shown["y"] + word["y0"] * scale,
        "width": (word["x1"] - word["x0"]) * scale,
        "height": (word["y1"] - word["y0"]) * scale,
    }
    assert _overlap(drawn, expected) > 0.6, (drawn, expected)
    # And there is ink under the box in the preview image itself, none in a corner.
    source = image.get_attribute("src")
    assert source and urlsplit(source).netloc == origin
    picture = Image.open(io.BytesIO(httpx.get(source).content)).convert("L")
    factor = picture.width / shown["width"]
    under = picture.crop((
        int((drawn["x"] - shown["x"]) * factor), int((drawn["y"] - shown["y"]) * factor),
        int((drawn["x"] - shown["x"] + drawn["width"]) * factor) + 1,
        int((drawn["y"] - shown["y"] + drawn["height"]) * factor) + 1,
    ))  # fmt: skip
    assert numpy.asarray(under).min() < 100, "no ink under the highlight box"
    corner = picture.crop((0, picture.height - 20, 20, picture.height))
    assert numpy.asarray(corner).min() > 200

    screenshot = os.environ.get("ARCHIVIST_UI_SCREENSHOT")
    if screenshot:
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=screenshot)

    # The same file again, dropped on the page: refused as a duplicate, said readably.
    dropped = page.evaluate_handle(
        DROP_FILE, [pdf.name, base64.b64encode(pdf.read_bytes()).decode()]
    )
    page.dispatch_event("#drop", "drop", {"dataTransfer": dropped})
    again = page.locator(".upload").first
    expect(again).to_have_attribute("data-state", "refused", timeout=30_000)
    expect(again).to_contain_text("DUPLICATE")
    expect(again.locator("button.link")).to_contain_text("minutes")

    # The tab keeps its session over a reload, and the list comes back as it was.
    page.reload()
    expect(page.locator("#username")).to_have_text("alice")
    expect(page.locator(f".document[data-document-id='{document_id}']")).to_have_attribute(
        "data-status", "READY"
    )
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=30_000)

    # The token revoked elsewhere: the server closes the socket (4403), the page says why.
    assert _graphql(live_server, token, "mutation { logout { ok } }")["data"]["logout"]["ok"]
    ended = page.locator("#login-error")
    expect(ended).to_contain_text("Your session ended", timeout=30_000)
    expect(ended).to_contain_text("(TOKEN_REVOKED)")
    expect(page.locator("#login-view")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('archivist.token')") is None

    # Log in again, and log out: the tab forgets the token, the server revoked it.
    page.fill("#login-username", "alice")
    page.fill("#login-password", TEST_PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#who")).to_be_visible()
    expect(page.locator("#username")).to_have_text("alice")
    token = page.evaluate("sessionStorage.getItem('archivist.token')")
    assert token
    page.click("#logout")
    expect(page.locator("#login-view")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('archivist.token')") is None
    after = _graphql(live_server, token, "{ me { username } }")
    assert after["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    assert offline_browser.refused == []
    assert problems == []
