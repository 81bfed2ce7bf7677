"""Fair scheduling: one user's long document does not hold back another user's short one."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from samples import text_pdf
from support import LOGIN, TEST_PASSWORD, row_id, upload

from archivist.core.db import database
from archivist.core.models import Document, DocumentVersion, Page
from archivist.core.queue import PAGES_QUEUE

pytestmark = pytest.mark.slow

WORDS = ["page", "of", "a", "long", "report", "with", "enough", "words", "here"]


def _login(base: str, username: str) -> str:
    body = httpx.post(
        f"{base}/graphql",
        json={"query": LOGIN, "variables": {"username": username, "password": TEST_PASSWORD}},
    ).json()
    token: str = body["data"]["login"]["token"]
    return token


def _upload(base: str, token: str, path: Path) -> int:
    with httpx.Client(base_url=base, timeout=60) as client:
        body = upload(client, token, path.name, path.read_bytes(), {"mode": "OFF"})
    return row_id(body["data"]["uploadDocument"]["document"]["id"])


def _wait_ready(document_ids: list[int], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database.connection_context():
            statuses = {d.status for d in Document.select().where(Document.node.in_(document_ids))}
        if statuses == {Document.READY}:
            return
        time.sleep(0.3)
    raise AssertionError(f"documents not ready after {timeout} s: {statuses}")


def _first_version_pages(document_id: int) -> list[Page]:
    with database.connection_context():
        return list(
            Page.select()
            .join(DocumentVersion)
            .where((DocumentVersion.document == document_id) & (DocumentVersion.number == 1))
            .order_by(Page.number)
        )


def test_a_one_page_document_waits_for_a_few_pages_of_a_long_one(
    live_server: str, make_user: Any, workers: Any, redis_client: Any, tmp_path: Path
) -> None:
    from rq import Queue

    make_user("alice")
    make_user("bob")
    alice, bob = _login(live_server, "alice"), _login(live_server, "bob")
    pages = 16
    long_id = _upload(live_server, alice, text_pdf(tmp_path / "long.pdf", [WORDS] * pages))
    # Alice's pages wait their turn in the database, not in the queue.
    assert Queue(PAGES_QUEUE, connection=redis_client).count <= 2
    short_id = _upload(live_server, bob, text_pdf(tmp_path / "short.pdf", [WORDS]))
    workers.start("one")
    workers.start("two")
    _wait_ready([long_id, short_id])
    (short_page,) = _first_version_pages(short_id)
    long_pages = _first_version_pages(long_id)
    before = [page.number for page in long_pages if page.done_at < short_page.done_at]
    print(f"{len(before)} of Alice's {pages} pages were done before Bob's one page")
    # Without fairness all 16 are queued ahead of Bob's page; with it, about one window (one
    # page per worker, at least 2) of Alice's pages is queued or running when Bob's arrives.
    assert len(before) <= 5, before
    assert {page.worker for page in long_pages} == {"one", "two"}  # still spread over workers
    assert all(page.status == Page.DONE for page in long_pages)


def test_waiting_pages_get_their_turn_from_the_reconciler(
    settings: Any, make_user: Any, redis_client: Any, tmp_path: Path
) -> None:
    """The queue is lost (Redis flushed): queued pages get new jobs, waiting ones their turns,
    and the owner's window still holds."""
    import io

    from archivist.core.db import utcnow
    from archivist.core.documents import UploadOptions, upload_document
    from archivist.core.reconcile import GRACE, reconcile
    from archivist.core.users import viewer_for

    user = make_user("carol")
    content = text_pdf(tmp_path / "long.pdf", [WORDS] * 6).read_bytes()
    with database.connection_context():
        viewer = viewer_for(user)
        node = upload_document(
            settings, viewer, io.BytesIO(content), UploadOptions("long.pdf"), redis_client
        )
        queued = Page.select().where(Page.job_id.is_null(False)).count()
        assert queued == 2 and _queued(redis_client) == 2
        redis_client.flushdb()
        # Older than the grace period that protects an upload in progress.
        DocumentVersion.update(created_at=utcnow() - GRACE * 2).where(
            DocumentVersion.document == node.id
        ).execute()
        report = reconcile(settings, redis_client)
        assert report.pages_requeued == 2 and report.pages_given_turns == 0
        assert _queued(redis_client) == 2
        # A page ends without its job giving the next turn (its worker was killed after it):
        Page.update(status=Page.DONE).where(Page.job_id.is_null(False)).execute()
        report = reconcile(settings, redis_client)
        assert report.pages_given_turns == 2
        assert Page.select().where(Page.job_id.is_null(False)).count() == 4


def _queued(redis: Any) -> int:
    from rq import Queue

    return int(Queue(PAGES_QUEUE, connection=redis).count)
