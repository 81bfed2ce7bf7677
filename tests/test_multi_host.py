"""Separate hosts, each a network namespace with its own address (see tests/hosts.py): the
services host (PostgreSQL or MariaDB forwarded, a Redis of the test's own), two API hosts, two
worker hosts and an index host serving the search index with ``xapian-tcpsrv``; the storage
is one folder all hosts share (standing in for a shared volume).

30 born-digital documents (100 pages, text layers, so no OCR wait) are uploaded through both
API hosts by two users; each user subscribes on both API hosts. One worker host is killed
whole (every process, then its link cut) in the middle of the run. Then every page is done
once, every document READY, ``archivist index check`` clean, search on both API hosts finds
every page, and each subscriber saw every page of the user's documents done exactly once and
nothing of the other user's. Then the index host stops for a while: search says it is
unavailable, uploads and page processing go on, and the documents become READY (indexed) once
it is back.

Runs on PostgreSQL or MariaDB (``ARCHIVIST_TEST_DATABASE_URL``), as root (CI).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
import pytest
from hosts import Host, Network, require_namespaces
from redis import Redis
from rq import Worker
from samples import text_pdf
from support import free_port, login, settings_env, upload, wait_for_http
from websockets.sync.client import connect
from xapian_server import tcpsrv_path

from archivist.core.db import database
from archivist.core.models import Document, Page
from archivist.core.settings import Settings

pytestmark = pytest.mark.slow

API_PORT, INDEX_PORT = 8000, 8100
FEED = """subscription { documentsProgress { documentId status pageNumber worker } }"""
SEARCH = "query($q: String!) { search(query: $q, first: 100) { totalCount } }"
DOCUMENTS = 30  # 10 of 4 pages, 20 of 3: 100 pages
USERS = ("alice", "bob")


def pages_of(number: int) -> int:
    return 4 if number % 3 == 0 else 3


class Subscriber(threading.Thread):
    """One user's ``documentsProgress`` on one API host, collecting every event."""

    def __init__(self, base: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = base.replace("http://", "ws://") + "/graphql"
        self.token = token
        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with connect(self.url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
                auth = {"Authorization": f"Bearer {self.token}"}
                socket.send(json.dumps({"type": "connection_init", "payload": auth}))
                assert json.loads(socket.recv(timeout=10))["type"] == "connection_ack"
                socket.send(
                    json.dumps({"type": "subscribe", "id": "1", "payload": {"query": FEED}})
                )
                self.ready.set()
                while not self.stopping.is_set():
                    try:
                        message = json.loads(socket.recv(timeout=0.5))
                    except TimeoutError:
                        continue
                    if message["type"] == "next":
                        self.events.append(message["payload"]["data"]["documentsProgress"])
                    elif message["type"] != "ping":
                        raise AssertionError(f"unexpected message {message}")
        except BaseException as error:
            self.error = error
            self.ready.set()

    def pages_done(self) -> Counter[tuple[str, int]]:
        return Counter(
            (event["documentId"], event["pageNumber"])
            for event in self.events
            if event["status"] == "PAGE_DONE"
        )


def _host_database_url(url: str, address: str) -> tuple[str, int]:
    """The database URL as the other hosts reach it (through the forwarder), and its port."""
    parts = urlsplit(url)
    port = parts.port or (5432 if parts.scheme.startswith("postgres") else 3306)
    user = f"{parts.username}@" if parts.username else ""
    netloc = f"{user}{address}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), port


def _wait(what: str, done: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def _count(query: Any) -> int:
    with database.connection_context():
        return int(query.count())


@pytest.fixture
def network() -> Iterator[Network]:
    require_namespaces()
    tcpsrv_path()
    built = Network()
    try:
        yield built
    finally:
        built.close()


def test_api_and_workers_on_separate_hosts(
    settings: Settings, database_url: str, make_user, network: Network, tmp_path: Path
) -> None:
    if settings.database_scheme == "sqlite":
        pytest.skip("separate hosts share PostgreSQL or MariaDB (ARCHIVIST_TEST_DATABASE_URL)")
    logs = tmp_path / "logs"
    logs.mkdir()
    services = network.address
    host_database, database_port = _host_database_url(database_url, services)
    database_host = urlsplit(database_url).hostname or "127.0.0.1"
    forward = ["socat", f"TCP-LISTEN:{database_port},bind={services},reuseaddr,fork",
               f"TCP:{database_host}:{database_port}"]  # fmt: skip
    forwarder = network.service(forward, logs / "socat.log")
    redis_port = free_port()
    redis_command = ["redis-server", "--bind", services, "--port", str(redis_port), "--save",
                     "", "--appendonly", "no", "--protected-mode", "no"]  # fmt: skip
    redis = network.service(redis_command, logs / "redis.log")
    index_host = network.add("index", 30)
    apis = [network.add("api1", 11), network.add("api2", 12)]
    workers = [network.add("w1", 21), network.add("w2", 22)]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        **settings_env(
            settings.data_dir, host_database,
            ARCHIVIST_REDIS_URL=f"redis://{services}:{redis_port}/0",
            ARCHIVIST_XAPIAN_REMOTE=f"{index_host.address}:{INDEX_PORT}",
            ARCHIVIST_XAPIAN_REMOTE_TIMEOUT="3",
            ARCHIVIST_PAGE_LEASE="4",
            ARCHIVIST_RECONCILE_INTERVAL="2",
            ARCHIVIST_RETRY_INTERVALS="1,2",
            ARCHIVIST_OCR_DPI="100",
            ARCHIVIST_PORT=str(API_PORT),
        ),
    }  # fmt: skip
    index_folder = tmp_path / "index-host"

    def start_index() -> None:
        index_host.start(
            [tcpsrv_path(), "--writable", "--port", str(INDEX_PORT), "--interface",
             index_host.address, "--idle-timeout", "10000", str(index_folder)],
            env, logs / "index.log",
        )  # fmt: skip

    start_index()
    cli = [sys.executable, "-m", "archivist.core.cli"]
    servers = [
        api.start([*cli, "serve"], {**env, "ARCHIVIST_HOST": api.address}, logs / f"{api.name}.log")
        for api in apis
    ]
    for worker in workers:
        worker.start([*cli, "worker", "--name", worker.name], env, logs / f"{worker.name}.log")
    bases = [f"http://{api.address}:{API_PORT}" for api in apis]
    clients = [httpx2.Client(base_url=base, timeout=60) for base in bases]
    subscribers: list[tuple[str, Subscriber]] = []
    try:
        for base, server in zip(bases, servers, strict=True):
            wait_for_http(f"{base}/health", timeout=90, process=server)
        # Both worker hosts serve the queues before the first upload (loading the OCR model
        # takes a while on a busy machine; a late one would find the work already done).
        queue_redis = Redis(host=services, port=redis_port)
        _wait("both workers", lambda: {worker.name for worker in Worker.all(queue_redis)}
              >= {worker.name for worker in workers}, 180)  # fmt: skip
        for user in USERS:
            make_user(user)
        tokens = {user: login(clients[0], user) for user in USERS}
        for user in USERS:
            for base in bases:
                subscriber = Subscriber(base, tokens[user])
                subscriber.start()
                subscribers.append((user, subscriber))
        for _, subscriber in subscribers:
            assert subscriber.ready.wait(30) and subscriber.error is None, subscriber.error

        # 30 documents through both API hosts, by both users.
        expected: dict[str, set[tuple[str, int]]] = {user: set() for user in USERS}
        started = datetime.now(UTC).replace(tzinfo=None)
        for number in range(DOCUMENTS):
            user = USERS[number % 2]
            client = clients[(number // 2) % 2]
            words = [[f"{user}pages", f"doc{number}page{page}", "shared"]
                     for page in range(1, pages_of(number) + 1)]  # fmt: skip
            pdf = text_pdf(tmp_path / f"doc{number}.pdf", words)
            body = upload(client, tokens[user], f"doc{number}.pdf", pdf.read_bytes())
            document = body["data"]["uploadDocument"]["document"]
            assert document is not None, body
            expected[user] |= {(document["id"], page) for page in range(1, pages_of(number) + 1)}
        total = sum(pages_of(number) for number in range(DOCUMENTS))
        assert total == 100

        # Kill one worker host whole in the middle of the run.
        _wait("a third of the pages", lambda: _count(
            Page.select().where(Page.status == Page.DONE)) >= total // 3, 180)  # fmt: skip
        victim, survivor = workers
        assert _count(Page.select().where(Page.worker == victim.name)) > 0
        killed_at = datetime.now(UTC).replace(tzinfo=None)
        victim.kill()
        victim.cut()
        _wait("every document READY", lambda: _count(
            Document.select().where(Document.status != Document.READY)) == 0, 240)  # fmt: skip
        with database.connection_context():
            pages = list(Page.select().where(Page.status == Page.DONE))
        first_version = [page for page in pages if page.done_at >= started]
        assert not _count(Page.select().where(Page.status != Page.DONE))

        # Every page event reached every subscriber of its owner, on both API hosts, once.
        _wait("the last events", lambda: all(
            set(s.pages_done()) >= expected[user] for user, s in subscribers), 30)  # fmt: skip
        for user, subscriber in subscribers:
            assert subscriber.error is None, subscriber.error
            done = subscriber.pages_done()
            assert set(done) == expected[user], (user, subscriber.url)
            assert set(done.values()) == {1}, [key for key, n in done.items() if n > 1]
            others = {event["documentId"] for event in subscriber.events}
            assert not others & {doc for doc, _ in expected[USERS[USERS.index(user) - 1]]}

        check = apis[0].run([*cli, "index", "check"], env)
        assert check.returncode == 0, check.stdout + check.stderr
        for client in clients:
            for user in USERS:
                answer = client.post(
                    "/graphql", json={"query": SEARCH, "variables": {"q": f"{user}pages"}},
                    headers={"Authorization": f"Bearer {tokens[user]}"},
                ).json()  # fmt: skip
                assert answer["data"]["search"]["totalCount"] == len(expected[user]), answer
            for number in (0, 17, DOCUMENTS - 1):
                user = USERS[number % 2]
                page = pages_of(number)
                answer = client.post(
                    "/graphql", json={"query": SEARCH, "variables": {"q": f"doc{number}page{page}"}},
                    headers={"Authorization": f"Bearer {tokens[user]}"},
                ).json()  # fmt: skip
                assert answer["data"]["search"]["totalCount"] == 1, answer

        _report_rates(first_version, killed_at, victim, survivor)

        # The index host stops for a while: search says so; uploads and pages go on.
        index_host.kill()
        answer = clients[1].post(
            "/graphql", json={"query": SEARCH, "variables": {"q": "shared"}},
            headers={"Authorization": f"Bearer {tokens['alice']}"},
        ).json()  # fmt: skip
        assert answer["errors"][0]["extensions"]["code"] == "SEARCH_UNAVAILABLE", answer
        late = text_pdf(tmp_path / "late.pdf", [["latecomer", "walrus"], ["latecomer", "seal"]])
        body = upload(clients[1], tokens["alice"], "late.pdf", late.read_bytes())
        assert body["data"]["uploadDocument"]["document"] is not None, body
        _wait("the late pages", lambda: _count(
            Page.select().where(Page.status != Page.DONE)) == 0, 120)  # fmt: skip
        time.sleep(3)  # the final step has failed and been retried meanwhile
        assert _count(Document.select().where(Document.status != Document.READY)) == 1
        start_index()
        _wait("the late document READY", lambda: _count(
            Document.select().where(Document.status != Document.READY)) == 0, 120)  # fmt: skip
        answer = clients[0].post(
            "/graphql", json={"query": SEARCH, "variables": {"q": "latecomer"}},
            headers={"Authorization": f"Bearer {tokens['alice']}"},
        ).json()  # fmt: skip
        assert answer["data"]["search"]["totalCount"] == 2, answer
        check = apis[1].run([*cli, "index", "check"], env)
        assert check.returncode == 0, check.stdout + check.stderr

        # Redis restarted (not flushed: a new, empty server) and the database cut off for a
        # while, with a document in processing: everything recovers without a person.
        last = text_pdf(tmp_path / "last.pdf", [["restarted", "otter"]] * 60)
        body = upload(clients[0], tokens["bob"], "last.pdf", last.read_bytes())
        assert body["data"]["uploadDocument"]["document"] is not None, body
        redis.kill()
        redis.wait()
        assert _count(Page.select().where(Page.status != Page.DONE)) > 0  # work was lost
        time.sleep(2)
        redis = network.service(redis_command, logs / "redis.log")
        forwarder.kill()
        forwarder.wait()
        time.sleep(5)
        forwarder = network.service(forward, logs / "socat.log")
        _wait("every document READY after the restarts", lambda: _count(
            Document.select().where(Document.status != Document.READY)) == 0, 120)  # fmt: skip
        for client in clients:
            answer = client.post(
                "/graphql", json={"query": SEARCH, "variables": {"q": "otter"}},
                headers={"Authorization": f"Bearer {tokens['bob']}"},
            ).json()  # fmt: skip
            assert answer["data"]["search"]["totalCount"] == 60, answer
        check = apis[0].run([*cli, "index", "check"], env)
        assert check.returncode == 0, check.stdout + check.stderr
    except BaseException:
        for log in sorted(logs.iterdir()):
            print(f"--- {log.name}\n{log.read_text()[-3000:]}")
        raise
    finally:
        for _, subscriber in subscribers:
            subscriber.stopping.set()
        for client in clients:
            client.close()


def _report_rates(pages: list[Page], killed_at: datetime, victim: Host, survivor: Host) -> None:
    """Pages per minute with two worker hosts (before the kill) and one (after it)."""
    times = sorted(page.done_at for page in pages)
    before = [t for t in times if t <= killed_at]
    after = [t for t in times if t > killed_at + timedelta(seconds=5)]  # past the lease
    if len(before) > 1 and len(after) > 1:
        two = (len(before) - 1) / max((before[-1] - before[0]).total_seconds(), 0.001) * 60
        one = (len(after) - 1) / max((after[-1] - after[0]).total_seconds(), 0.001) * 60
        print(f"\npages/min: {two:.0f} with 2 worker hosts, {one:.0f} with 1 "
              f"({victim.name} killed, {survivor.name} left)")  # fmt: skip
