"""Redis flushed, then stopped for 20 s, while documents are processed, renamed, tagged and
trashed: afterwards, with nobody doing anything, every document is ready, search reflects every
change and ``archivist index check`` is clean; the workers live through it.

A private redis-server on a free port is stopped and started (never the shared one); two real
workers; the API in process. Pages are text-layer PDFs with ocrMode OFF, so no OCR runs.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rq import Queue
from starlette.testclient import TestClient
from support import login, row_id, settings_env
from test_faults import CREATE_TAG, RENAME, TAG, TRASH, run, titles_found

from archivist.core.db import database
from archivist.core.models import Document, Page
from archivist.core.settings import Settings, load_settings

OUTAGE_SECONDS = 20


def _pdf(tmp_path: Path, name: str, word: str) -> bytes:
    from samples import text_pdf

    pages = [[word, "page", str(n), "of", "the", "quarterly", "garden", "report"] for n in (1, 2)]
    return text_pdf(tmp_path / f"{name}.pdf", pages).read_bytes()


def _wait(condition: Any, timeout: float, what: str, detail: Any = str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, (
            f"{what}: not within {timeout:.0f} s\n{detail()}"
        )
        time.sleep(0.5)
    return time.monotonic() - started


@pytest.mark.slow
def test_redis_flushed_and_stopped_while_documents_change(
    settings: Settings, make_user, workers: Any, tmp_path: Path
) -> None:
    from outages import PrivateRedis
    from redis import Redis
    from support import upload

    from archivist.core.queue import INDEX_DOCUMENT, INDEX_QUEUE
    from archivist.core.search import check_index
    from archivist.graphql.app import create_app

    private = PrivateRedis(tmp_path / "redis")
    private.start()
    redis = Redis.from_url(private.url)
    own = load_settings(
        settings_env(settings.data_dir, settings.database_url, ARCHIVIST_REDIS_URL=private.url)
    )
    make_user("alice")
    try:
        for name in ("one", "two"):
            workers.start(name, ARCHIVIST_REDIS_URL=private.url)
        workers.wait_registered(redis, 2)
        with TestClient(create_app(own)) as client:
            token = login(client, "alice")

            def add(name: str, word: str) -> str:
                body = upload(
                    client, token, f"{name}.pdf", _pdf(tmp_path, name, word), {"mode": "OFF"}
                )
                document_id: str = body["data"]["uploadDocument"]["document"]["id"]
                return document_id

            ids = {name: add(name, word) for name, word in
                   (("renamed", "apple"), ("tagged", "banana"), ("trashed", "cherry"),
                    ("offline", "damson"))}  # fmt: skip
            tag = run(client, token, CREATE_TAG, name="urgent")["createTag"]["tag"]["id"]
            run(client, token, RENAME, id=ids["renamed"], title="apple orchard")
            run(client, token, TAG, n=[ids["tagged"]], t=[tag])
            redis.flushall()  # queued pages, index jobs, registries: all gone
            run(client, token, TRASH, ids=[ids["trashed"]])
            private.stop()
            down_since = time.monotonic()
            # While Redis is away: a rename, a tag and an upload still work.
            run(client, token, RENAME, id=ids["offline"], title="damson jam")
            run(client, token, TAG, n=[ids["renamed"]], t=[tag])
            ids["late"] = add("late", "elder")
            time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down_since)))
            private.start()
            back = time.monotonic()

            def all_ready() -> bool:
                with database.connection_context():
                    states = {d.status for d in Document.select(Document.status)}
                return states == {Document.READY}

            def search_agrees() -> bool:
                expected = [
                    ("title:orchard", {"apple orchard"}),
                    ("tag:urgent", {"apple orchard", "tagged"}),
                    ("cherry", set()),
                    ("title:jam", {"damson jam"}),
                    ("elder", {"late"}),
                ]
                return all(titles_found(client, token, q) == want for q, want in expected)

            def states() -> str:
                with database.connection_context():
                    pages = [(p.id, p.status, p.job_id) for p in Page.select()]
                    docs = [(d.node_id, d.status) for d in Document.select()]
                return f"{docs}\n{pages}\n{workers.logs()[-6000:]}"

            _wait(all_ready, 120, "every document ready", states)
            recovered = _wait(search_agrees, 60, "search reflects every change")
            with database.connection_context():
                report = check_index(settings)
            assert report.ok, report
            print(f"recovered {time.monotonic() - back:.1f} s after Redis came back")
            assert recovered >= 0

            # The workers lived through it and their scheduler moves retries again.
            assert all(p.poll() is None for p in workers.processes.values()), workers.logs()
            job = Queue(INDEX_QUEUE, connection=redis).enqueue_in(
                timedelta(seconds=1), INDEX_DOCUMENT, row_id(ids["renamed"])
            )
            _wait(lambda: job.get_status() == "finished", 60, "a scheduled job ran")
        assert "Redis is back" in workers.logs()
    finally:
        workers.stop_all()
        redis.close()
        private.stop()
