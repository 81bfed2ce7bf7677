"""The database server restarted, not only cut off, while a document is in processing: the
API and the workers live through it and the document becomes READY and searchable with
nobody doing anything.

The server is the test's own (tests/database_servers.py): a PostgreSQL cluster made with
``initdb``, or a MariaDB data folder made with ``mariadb-install-db``, stopped as its service
manager would stop it (``pg_ctl stop -m fast``; SIGTERM to ``mariadbd``: every connection is
ended) and started again on the same port. The API (``archivist serve``) and two workers
(``archivist worker``) are real processes; Redis is a private ``redis-server``.

Each runs in its database's pass of the suite (``ARCHIVIST_TEST_DATABASE_URL`` on PostgreSQL
or MariaDB: CI's second and third passes), though it never touches that database. Skipped
where the server's programs are missing, unless ``ARCHIVIST_REQUIRE_DATABASE_SERVERS=1``
(CI) makes that a failure.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from database_servers import SERVERS, PrivateMariaDB, PrivatePostgres
from outages import PrivateRedis
from samples import text_pdf
from support import (
    TEST_PASSWORD,
    free_port,
    login,
    print_logs,
    settings_env,
    stop_processes,
    upload,
    wait_for_http,
)

from archivist.core.db import open_database
from archivist.core.models import MODELS, Document, Page

pytestmark = pytest.mark.slow

SEARCH = "query($q: String!) { search(query: $q, first: 100) { totalCount } }"
PAGES = 80
OUTAGE_SECONDS = 5


def _wait(what: str, done: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not done():
        assert time.monotonic() - started < timeout, f"timed out waiting for {what}"
        time.sleep(0.25)
    return time.monotonic() - started


@pytest.fixture(params=["postgresql", "mysql"], ids=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest, database_url: str) -> Iterator[Any]:
    scheme = request.param
    if not database_url.startswith(scheme):
        pytest.skip(f"runs in the {scheme} pass (ARCHIVIST_TEST_DATABASE_URL={scheme}://...) "
                    "on a server of its own")  # fmt: skip
    private: PrivatePostgres | PrivateMariaDB = SERVERS[scheme]()
    try:
        private.start()
        private.create_database()
        yield private
    finally:
        private.close()


def test_database_restarted_while_a_document_is_processed(server: Any, tmp_path: Path) -> None:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    port = free_port()
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        **settings_env(
            tmp_path / "data", server.url,
            ARCHIVIST_REDIS_URL=redis.url,
            ARCHIVIST_PORT=str(port),
            ARCHIVIST_PAGE_LEASE="4",
            ARCHIVIST_RECONCILE_INTERVAL="2",
            ARCHIVIST_RETRY_INTERVALS="1,2",
        ),
    }  # fmt: skip
    if shutil.which("tesseract"):
        # The pages have text layers, so no OCR runs: a worker with Tesseract starts in a
        # second, one with EasyOCR loads its model first (half a minute on a busy machine).
        env["ARCHIVIST_OCR_ENGINE"] = "tesseract"
    cli = [sys.executable, "-m", "archivist.core.cli"]
    logs = tmp_path / "logs"
    logs.mkdir()
    for args in (["migrate"], ["createuser", "--username", "alice", "--password-stdin"]):
        done = subprocess.run([*cli, *args], env=env, input=TEST_PASSWORD, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, args: list[str]) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("ab") as log:
            process = subprocess.Popen([*cli, *args], env=env, stdout=log,
                                       stderr=subprocess.STDOUT)  # fmt: skip
        processes.append(process)
        return process

    db = open_database(server.url, max_connections=2)

    def count(query: Callable[[], Any]) -> int:
        with db.bind_ctx(MODELS), db.connection_context():
            return int(query().count())

    api = start("api", ["serve"])
    for name in ("w1", "w2"):
        start(name, ["worker", "--name", name])
    base = f"http://127.0.0.1:{port}"
    client = httpx2.Client(base_url=base, timeout=60)
    try:
        wait_for_http(f"{base}/health", timeout=90, process=api)
        token = login(client, "alice")
        auth = {"Authorization": f"Bearer {token}"}

        def found(word: str) -> int:
            answer = client.post("/graphql", json={"query": SEARCH, "variables": {"q": word}},
                                 headers=auth).json()  # fmt: skip
            assert "errors" not in answer, answer
            total: int = answer["data"]["search"]["totalCount"]
            return total

        pdf = text_pdf(tmp_path / "long.pdf", [["restarted", f"otter{n}"] for n in range(PAGES)])
        body = upload(client, token, "long.pdf", pdf.read_bytes())
        assert body["data"]["uploadDocument"]["document"] is not None, body
        _wait("the first pages", lambda: count(
            lambda: Page.select().where(Page.status == Page.DONE)) >= 5, 120)  # fmt: skip

        # The restart, with the document in processing.
        server.stop()
        stopped = time.monotonic()
        outage = client.get("/health")
        assert outage.status_code == 503 and outage.json()["database"] == "unavailable"
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        server.start()
        back = time.monotonic()
        assert count(lambda: Page.select().where(Page.status != Page.DONE)) > 0, (
            "the document was done before the restart: make it longer"
        )

        _wait("the document READY after the restart", lambda: count(
            lambda: Document.select().where(Document.status != Document.READY)) == 0, 90)  # fmt: skip
        recovered = time.monotonic() - back
        assert client.get("/health").status_code == 200
        assert found("restarted") == PAGES
        assert count(lambda: Page.select().where(Page.status != Page.DONE)) == 0
        # New work after the restart goes through the same processes.
        late = text_pdf(tmp_path / "late.pdf", [["afterwards", "walrus"]])
        body = upload(client, token, "late.pdf", late.read_bytes())
        assert body["data"]["uploadDocument"]["document"] is not None, body
        _wait("the late document READY", lambda: count(
            lambda: Document.select().where(Document.status != Document.READY)) == 0, 60)  # fmt: skip
        assert found("walrus") == 1
        check = subprocess.run([*cli, "index", "check"], env=env, capture_output=True, text=True,
                               timeout=120)  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        # Nobody restarted anything: the API and both workers are the processes started above.
        assert all(process.poll() is None for process in processes)
        print(f"\n{server.scheme}: READY {recovered:.1f} s after the server was back")
    except BaseException:
        print_logs(logs)
        print(f"--- database server\n{server.log()[-3000:]}")
        raise
    finally:
        client.close()
        stop_processes(processes)
        if not db.is_closed():
            db.close()
        db.close_all()  # type: ignore[attr-defined]
        redis.stop()
