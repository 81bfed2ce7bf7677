"""The whole flow of a frontend, driven by Apollo Client 4 and graphql-ws in node (tests/js).

Against a real ``archivist serve`` and a real worker: log in, upload a 2-page PDF, subscribe
to its progress at once and follow it to READY without an error, list the Inbox with
thumbnails, search a word with the hit's page in the same answer and place its box on the
preview, log out and see the server close the socket (4403).
"""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy
import pytest
from conftest import serving
from PIL import Image
from samples import text_pdf
from support import TEST_PASSWORD
from test_graphql_http_audit import JS, _node

from archivist.core.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """A real server that checks open sockets' tokens every second (logout ends them soon)."""
    with serving(settings, tmp_path, ARCHIVIST_WS_RECHECK="1") as base:
        yield base


def test_a_frontend_flow_with_apollo_and_graphql_ws(
    server: str, workers: Any, redis_client: Any, make_user: Any, tmp_path: Path
) -> None:
    node = _node()
    make_user("alice")
    workers.start("w1")
    workers.wait_registered(redis_client, 1)
    pdf = text_pdf(tmp_path / "minutes.pdf", [["Board", "minutes", "of", "March"],
                                              ["Budget", "approved", "unanimously"]])  # fmt: skip
    result = subprocess.run(
        [node, str(JS / "flow.mjs"), server, "alice", TEST_PASSWORD, str(pdf), "approved"],
        capture_output=True, text=True, timeout=240, cwd=JS,
    )  # fmt: skip
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{workers.logs()}"
    flow = json.loads(result.stdout.strip().splitlines()[-1])

    # Subscribed at once: the first event is the document's state then, none is an error,
    # pages are counted, and the stream completed after READY.
    events = flow["events"]
    assert flow["subscriptionErrors"] == []
    assert events[0]["status"] in ("PROCESSING", "READY"), events
    assert events[-1]["status"] == "READY", events
    assert events[-1]["pagesDone"] == events[-1]["pagesTotal"] == 2
    assert all(event["documentId"] == flow["documentId"] for event in events)

    # The listing's thumbnail is an image, served by its signed URL.
    listed = {node["id"]: node for node in flow["listed"]}
    assert listed[flow["documentId"]]["status"] == "READY"
    assert flow["thumbnail"]["status"] == 200
    assert flow["thumbnail"]["type"] == "image/jpeg" and flow["thumbnail"]["bytes"] > 100

    # The hit carries its page: the box, scaled onto the preview, lies on the word's ink.
    hit = flow["hit"]
    assert hit["pageNumber"] == 2 and "<mark>approved</mark>" in hit["snippet"].lower()
    assert hit["previewStatus"] == 200
    box = hit["box"]
    assert box["text"].lower() == "approved"
    width, height = hit["previewSize"]["width"], hit["previewSize"]["height"]
    assert 0 <= box["left"] < box["right"] <= width and 0 <= box["top"] < box["bottom"] <= height
    preview = Image.open(io.BytesIO(httpx.get(hit["previewUrl"]).content)).convert("L")
    assert preview.size == (width, height)
    inside = preview.crop((int(box["left"]), int(box["top"]), int(box["right"]) + 1,
                           int(box["bottom"]) + 1))  # fmt: skip
    assert numpy.asarray(inside).min() < 100, "no ink under the highlight box"
    away = preview.crop((0, height - 20, 20, height))  # a blank corner
    assert numpy.asarray(away).min() > 200

    # Logging out revokes the token; the server closes the open socket with 4403.
    assert flow["logout"]["ok"] is True
    assert flow["socketClosed"] is not None, "the socket stayed open after logout"
    assert flow["socketClosed"]["code"] == 4403
