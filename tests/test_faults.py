"""Faults: what is derived recovers by itself, and an outage gets a clear answer.

Real parts throughout: the test database, the test Redis (DB from ARCHIVIST_TEST_REDIS_URL),
a private redis-server the test stops and starts, a loopback proxy in front of PostgreSQL that
the test cuts (SQLite: the database file goes away), real workers and a real index.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx
import pytest
from outages import TcpProxy
from rq import Queue
from rq.registry import ScheduledJobRegistry
from starlette.testclient import TestClient
from support import gid, graphql, login, run_worker_burst, settings_env, wait_for_http

from archivist.core import reconcile as reconcile_module
from archivist.core import reprocess
from archivist.core.db import database
from archivist.core.errors import UserFacingError
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.processing import current_version
from archivist.core.queue import PAGES_QUEUE, PROCESS_PAGE, enqueue_index
from archivist.core.settings import Settings, load_settings
from archivist.core.storage import Storage

SEARCH = """query($q: String!) { search(query: $q) { totalCount edges { node {
  document { id title } } } } }"""
RENAME = """mutation($id: ID!, $title: String!) { renameNode(id: $id, title: $title) {
  errors { code } } }"""
TRASH = "mutation($ids: [ID!]!) { deleteNodes(ids: $ids) { errors { code } } }"
CREATE_TAG = "mutation($name: String!) { createTag(name: $name) { tag { id } errors { code } } }"
TAG = """mutation($n: [ID!]!, $t: [ID!]!) { tagNodes(nodeIds: $n, tagIds: $t) {
  errors { code } } }"""
REPROCESS = """mutation($id: ID!) { reprocessDocument(documentId: $id) {
  errors { code message } } }"""


def run(client: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def home_of(username: str) -> int:
    from archivist.core.models import User

    with database.connection_context():
        user = User.get(User.username == username)
        home = Node.get((Node.owner_user == user.id) & (Node.special == "home"))
        return int(home.id)


def make_ready_document(username: str, title: str, words: list[str]) -> int:
    """A processed document straight in the database, its index work owed (as after upload)."""
    from support import make_document

    from archivist.core.index_state import mark_for_index
    from archivist.core.models import User

    with database.connection_context():
        owner = User.get(User.username == username).id
    document_id = make_document(home_of(username), owner, title, [" ".join(words)])
    with database.connection_context(), database.atomic():
        mark_for_index([document_id])
    return document_id


def titles_found(client: TestClient, token: str, query: str) -> set[str]:
    edges = run(client, token, SEARCH, q=query)["search"]["edges"]
    return {edge["node"]["document"]["title"] for edge in edges}


# 5. Two requests that make a version from the same one: the second gets a coded error.


def test_concurrent_reprocess_gets_document_processing(settings: Settings, make_user) -> None:
    """Both calls pass the "still processing?" check before either makes its version (a barrier
    holds them there); the loser must get DOCUMENT_PROCESSING, not a UniqueViolation."""
    from archivist.core.users import viewer_for

    user = make_user("alice")
    document_id = make_ready_document("alice", "report", ["garden", "report"])
    viewer = viewer_for(user)
    both_checked = threading.Barrier(2, timeout=10)
    original_check = reprocess._refuse_while_processing

    def check_then_wait(document: Document) -> None:
        original_check(document)
        both_checked.wait()

    outcomes: list[object] = []

    def call() -> None:
        try:
            with database.connection_context():
                reprocess.reprocess_document(settings, viewer, None, gid("Document", document_id))
            outcomes.append("ok")
        except UserFacingError as error:
            outcomes.append(error.code)
        except Exception as error:  # what the bug raised: IntegrityError
            outcomes.append(repr(error))

    reprocess._refuse_while_processing = check_then_wait  # type: ignore[assignment]
    try:
        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        reprocess._refuse_while_processing = original_check  # type: ignore[assignment]
    assert sorted(map(str, outcomes)) == ["DOCUMENT_PROCESSING", "ok"], outcomes
    with database.connection_context():
        versions = DocumentVersion.select().where(DocumentVersion.document == document_id)
        assert sorted(v.number for v in versions) == [1, 2]
        # The loser changed nothing: one version's pages, all pending once.
        assert (
            Page.select()
            .join(DocumentVersion)
            .where(DocumentVersion.document == document_id)
            .count()
            == 2
        )


def test_a_version_made_from_an_old_one_is_refused(settings: Settings, make_user) -> None:
    """The one place that numbers versions (page edits, reprocess, retry, move pages): a
    version made from one that already has a successor is DOCUMENT_PROCESSING."""
    from archivist.core.versions import add_version

    make_user("alice")
    document_id = make_ready_document("alice", "report", ["garden"])
    with database.connection_context():
        base = current_version(document_id)
        assert base is not None
        fields = {"file_hash": base.file_hash, "base_hash": base.base_hash, "page_count": 1}
        with database.atomic():
            add_version(base, **fields)
        with pytest.raises(UserFacingError) as refused, database.atomic():
            add_version(base, **fields)
        assert refused.value.code == "DOCUMENT_PROCESSING"
        # The transaction around it is still usable (PostgreSQL: a savepoint rolled back).
        assert current_version(document_id).number == 2  # type: ignore[union-attr]


# 1. Index work lost with Redis is found in the database and done again.


def test_index_work_lost_with_redis_is_reconciled(
    settings: Settings, client: TestClient, make_user, redis_client: Any, monkeypatch
) -> None:
    from archivist.core.search import check_index

    make_user("alice")
    token = login(client, "alice")
    keep = make_ready_document("alice", "keeper", ["garden", "shed"])
    gone = make_ready_document("alice", "binned", ["garden", "fence"])
    tagged = make_ready_document("alice", "labelled", ["garden", "gate"])
    enqueue_index(redis_client, keep, gone, tagged)
    run_worker_burst(settings)
    with database.connection_context():
        assert check_index(settings).ok, check_index(settings)
    tag_id = run(client, token, CREATE_TAG, name="urgent")["createTag"]["tag"]["id"]

    # Redis flushed after the changes were made: their index jobs are gone.
    run(client, token, RENAME, id=gid("Document", keep), title="orchard")
    run(client, token, TRASH, ids=[gid("Document", gone)])
    run(client, token, TAG, n=[gid("Document", tagged)], t=[tag_id])
    redis_client.flushdb()
    # A rename while Redis is down (nothing listens on the port): its job never existed.
    from support import free_port

    down = load_settings(
        settings_env(settings.data_dir, settings.database_url,
                     ARCHIVIST_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    )  # fmt: skip
    from archivist.graphql.app import create_app

    with TestClient(create_app(down)) as offline:
        run(offline, token, RENAME, id=gid("Document", tagged), title="labelled gate")

    run_worker_burst(settings)  # nothing queued: the index is behind
    assert [titles_found(client, token, q) for q in ("title:orchard", "fence", "tag:urgent",
            "title:gate")] == [set(), {"binned"}, set(), set()]  # fmt: skip
    with database.connection_context():
        drift = check_index(settings)
    # index check sees it all, and a trashed document is not "missing".
    assert (drift.missing, drift.stale) == ([], [])
    assert sorted(drift.outdated) == sorted([keep, tagged]) and drift.extra == [gone], drift

    # The reconciler (here without its grace period) finds the debt and enqueues it again.
    monkeypatch.setattr(reconcile_module, "GRACE", timedelta(0))
    with database.connection_context():
        report = reconcile_module.reconcile(settings, redis_client)
    assert report.documents_reindexed == 3, report
    run_worker_burst(settings)
    assert [titles_found(client, token, q) for q in ("title:orchard", "fence", "tag:urgent",
            "title:gate")] == [{"orchard"}, set(), {"labelled gate"}, {"labelled gate"}]  # fmt: skip
    with database.connection_context():
        assert check_index(settings).ok, check_index(settings)
        assert reconcile_module.reconcile(settings, redis_client).documents_reindexed == 0


# 2. A retry waiting for a scheduler that no longer runs is not alive.


def test_overdue_scheduled_page_job_is_enqueued_again(
    settings: Settings, make_user, redis_client: Any, monkeypatch
) -> None:
    make_user("alice")
    document_id = make_ready_document("alice", "report", ["garden"])
    with database.connection_context():
        version = current_version(document_id)
        Page.update(status=Page.PENDING, job_id="page-stuck").where(
            Page.version == version.id  # type: ignore[union-attr]
        ).execute()
        (page,) = Page.select().where(Page.version == version.id)  # type: ignore[union-attr]
    # A retry scheduled two minutes ago, and no scheduler has moved it since.
    Queue(PAGES_QUEUE, connection=redis_client).enqueue_at(
        datetime.now(UTC) - timedelta(minutes=2), PROCESS_PAGE, page.id, job_id="page-stuck"
    )
    assert ScheduledJobRegistry(PAGES_QUEUE, connection=redis_client).count == 1
    monkeypatch.setattr(reconcile_module, "GRACE", timedelta(0))
    with database.connection_context():
        report = reconcile_module.reconcile(settings, redis_client)
        assert report.pages_requeued == 1, report
        assert Page.get_by_id(page.id).job_id != "page-stuck"


# 4. Scratch folders of dead processes are swept.


def test_stale_scratch_folders_are_swept(settings: Settings) -> None:
    storage = Storage(settings.storage_dir)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with storage.scratch() as live:
        base = live.parent
        host = live.name.split("-")[0]
        orphan = base / f"{host}-{dead.pid}-abc"
        (orphan / "upload").parent.mkdir()
        (orphan / "upload").write_bytes(b"half an upload")
        old = base / "elsewhere-1-xyz"
        old.mkdir()
        two_hours_ago = time.time() - 7200
        os.utime(old, (two_hours_ago, two_hours_ago))
        assert storage.sweep_scratch() == 2
        assert live.is_dir() and not orphan.exists() and not old.exists()
    # The API sweeps at start-up too.
    orphan.mkdir()
    from archivist.graphql.app import create_app

    with TestClient(create_app(settings)):
        assert not orphan.exists()


# 3. A database outage: a coded answer, one log line, and back at once.


def _cut_database(settings: Settings) -> tuple[str, Any, Any]:
    """(database URL for the server, cut(), restore()) for the test's database."""
    url = settings.database_url
    if url.startswith("sqlite"):
        raw = urlsplit(url).path
        path = Path(raw[1:] if raw.startswith("//") else raw)
        moved = path.with_name(path.name + ".away")

        def cut() -> None:
            path.rename(moved)
            path.mkdir()  # "unable to open database file" until it is back

        def restore() -> None:
            path.rmdir()
            moved.rename(path)

        return url, cut, restore
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    netloc = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    return urlunsplit(parts._replace(netloc=f"{netloc}:{proxy.port}")), proxy.cut, proxy.restore


@pytest.mark.slow
def test_database_outage_answers_clearly_and_recovers(
    settings: Settings, make_user, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from support import free_port

    make_user("alice")
    url, cut, restore = _cut_database(settings)
    port = free_port()
    env = settings_env(settings.data_dir, url, ARCHIVIST_PORT=str(port))
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "archivist.core.cli", "serve"],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/health", process=server)
        http = httpx.Client(base_url=base, timeout=30)
        request.addfinalizer(http.close)
        from support import LOGIN, TEST_PASSWORD

        token = http.post(
            "/graphql",
            json={"query": LOGIN, "variables": {"username": "alice", "password": TEST_PASSWORD}},
        ).json()["data"]["login"]["token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = {"query": "{ me { username } }"}
        assert http.post("/graphql", json=me, headers=auth).json()["data"]["me"]["username"]
        cut()
        try:
            answers = [http.post("/graphql", json=me, headers=auth) for _ in range(5)]
            answers.append(
                http.post(
                    "/graphql",
                    json={
                        "query": LOGIN,
                        "variables": {"username": "alice", "password": TEST_PASSWORD},
                    },
                )
            )
            files = http.get("/files/originals/1", headers=auth)
            health = http.get("/health")
        finally:
            restore()
        for answer in answers:
            (error,) = answer.json()["errors"]
            assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE", answer.text
            assert "try again" in error["message"]
        assert files.status_code == 503 and files.json()["error"] == "DATABASE_UNAVAILABLE"
        assert health.status_code == 503
        # Back at once: the very next request is answered.
        assert http.post("/graphql", json=me, headers=auth).json()["data"]["me"]["username"]
        assert http.get("/health").status_code == 200
    finally:
        server.terminate()
        server.wait(20)
    log = log_path.read_text()
    assert "Traceback" not in log, log
    assert log.count("database unavailable") <= 2, log
