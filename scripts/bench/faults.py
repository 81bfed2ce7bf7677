#!/usr/bin/env python3
"""Fault runs against real processes: what held, and how long recovery took.

Run: ``.venv/bin/python scripts/bench/faults.py [--outage 20] [--database-url URL]``

It starts a private redis-server on a free loopback port, ``archivist serve`` and two
``archivist worker`` processes on a temporary data folder (SQLite by default; with
``--database-url postgresql://...`` an EMPTY database of yours, reached through a loopback
proxy the script can cut), and runs these scenarios, one line each:

- ``redis-flush``: documents uploaded, renamed, tagged and trashed, then Redis flushed;
- ``redis-stop``: Redis stopped for ``--outage`` seconds while documents change and one is
  uploaded; the workers must live through it;
- ``database-cut``: the database cut off for 5 s; every answer meanwhile must be a coded
  DATABASE_UNAVAILABLE (503 outside GraphQL), and the first request after must work;
- ``api-killed-mid-upload``: the API killed (SIGKILL) while a file arrives; after a restart
  its scratch folder must be gone and no half-made document appear;
- ``concurrent-reprocess``: two ``reprocessDocument`` calls at once, 5 rounds: the loser must
  get DOCUMENT_PROCESSING.

"Recovery" is the time from the end of the fault until every document is READY, search
answers as the database says and ``archivist index check`` is clean (for database-cut: until
the first request succeeds). Loopback only; every wait is bounded (the whole run: about
3 minutes). Pages are text-layer PDFs processed with ocrMode OFF, so no OCR model runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2 as httpx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from outages import PrivateRedis, TcpProxy, free_port  # noqa: E402
from samples import text_pdf  # noqa: E402

PASSWORD = "correct horse battery"
RENAME = """mutation($id: ID!, $t: String!) { renameNode(id: $id, title: $t) {
  errors { code } } }"""
TAG = """mutation($n: [ID!]!, $t: [ID!]!) { tagNodes(nodeIds: $n, tagIds: $t) {
  errors { code } } }"""
TRASH = "mutation($ids: [ID!]!) { deleteNodes(ids: $ids) { errors { code } } }"
UPLOAD = """mutation($file: Upload!) { uploadDocument(file: $file, ocrMode: OFF) {
  document { id } errors { code } } }"""
LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }"""
SEARCH = "query($q: String!) { search(query: $q) { edges { node { document { title } } } } }"
DOCS = '{ documents: search(query: "garden") { totalCount } }'


class Cluster:
    """The API, two workers and a private Redis, on one temporary data folder."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.redis = PrivateRedis(root / "redis")
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ARCHIVIST_DATA_DIR": str(root / "data"),
            "ARCHIVIST_DATABASE_URL": database_url,
            "ARCHIVIST_REDIS_URL": self.redis.url,
            "ARCHIVIST_SECRET_KEY": "bench-secret-key-0123456789",
            "ARCHIVIST_PORT": str(self.port),
            "ARCHIVIST_RECONCILE_INTERVAL": "1",
            "ARCHIVIST_PAGE_LEASE": "4",
            "ARCHIVIST_RETRY_INTERVALS": "1,2",
        }
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = ""

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "archivist.core.cli", *args],
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "archivist.core.cli", *args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def start_api(self) -> None:
        self.api = self._spawn("api", "serve")
        wait(lambda: _get(f"{self.base}/health") == 200, 60, "the API did not start")

    def start(self) -> None:
        self.redis.start()
        assert self.cli("migrate").returncode == 0
        made = self.cli("createuser", "--username", "alice", "--password", PASSWORD)
        assert made.returncode == 0, made.stderr
        self.workers = [self._spawn(f"worker-{n}", "worker", "--name", f"w{n}") for n in (1, 2)]
        self.start_api()
        self.token = self.gql(LOGIN, {"u": "alice", "p": PASSWORD})["data"]["login"]["token"]

    def stop(self) -> None:
        for process in [self.api, *self.workers]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [self.api, *self.workers]:
            if process is not None:
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        self.redis.stop()

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            f"{self.base}/graphql", json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"} if self.token else {}, timeout=30,
        )  # fmt: skip
        body: dict[str, Any] = response.json()
        return body

    def upload(self, name: str, word: str) -> str:
        pages = [
            [word, "page", str(n), "of", "the", "quarterly", "garden", "report"] for n in (1, 2)
        ]
        data = text_pdf(self.root / f"{name}.pdf", pages).read_bytes()
        response = httpx.post(
            f"{self.base}/graphql",
            data={"operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
                  "map": json.dumps({"0": ["variables.file"]})},
            files={"0": (f"{name}.pdf", data, "application/pdf")},
            headers={"Authorization": f"Bearer {self.token}"}, timeout=60,
        )  # fmt: skip
        document_id: str = response.json()["data"]["uploadDocument"]["document"]["id"]
        return document_id

    def found(self, query: str) -> set[str]:
        edges = self.gql(SEARCH, {"q": query})["data"]["search"]["edges"]
        return {edge["node"]["document"]["title"] for edge in edges}

    def settled(self, expected: dict[str, set[str]]) -> bool:
        """Every document ready, search as expected, and the index check clean."""
        try:
            if any(self.found(query) != want for query, want in expected.items()):
                return False
        except (httpx.HTTPError, KeyError, TypeError):
            return False
        return self.all_ready() and self.cli("index", "check").returncode == 0

    def all_ready(self) -> bool:
        probe = subprocess.run(
            [sys.executable, "-c", READY_PROBE], env=self.env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        return probe.stdout.strip() == "ready"


READY_PROBE = """
from archivist.core.db import configure_database, database
from archivist.core.models import Document
from archivist.core.settings import get_settings
configure_database(get_settings().database_url)
with database.connection_context():
    states = {d.status for d in Document.select(Document.status)}
print("ready" if states <= {"ready"} else "busy")
"""


def _get(url: str) -> int:
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def wait(condition: Callable[[], bool], timeout: float, failure: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(failure)
        time.sleep(0.5)
    return time.monotonic() - started


def report(name: str, held: list[str], recovery: float | None) -> None:
    took = f"{recovery:.1f} s" if recovery is not None else "-"
    print(f"{name:<24} recovery {took:>8}   {'; '.join(held)}", flush=True)


def redis_flush(cluster: Cluster) -> None:
    ids = {word: cluster.upload(word, word) for word in ("apple", "banana", "cherry")}
    tag = cluster.gql('mutation { createTag(name: "urgent") { tag { id } } }')
    tag_id = tag["data"]["createTag"]["tag"]["id"]
    cluster.gql(RENAME, {"id": ids["apple"], "t": "apple orchard"})
    cluster.gql(TAG, {"n": [ids["banana"]], "t": [tag_id]})
    cluster.gql(TRASH, {"ids": [ids["cherry"]]})
    from redis import Redis

    Redis.from_url(cluster.redis.url).flushall()
    expected = {"title:orchard": {"apple orchard"}, "tag:urgent": {"banana"}, "cherry": set()}
    recovery = wait(lambda: cluster.settled(expected), 120, "redis-flush did not recover")
    report("redis-flush", ["all READY", "rename/tag/trash searchable", "index check clean"],
           recovery)  # fmt: skip


def redis_stop(cluster: Cluster, outage: float) -> None:
    document = cluster.upload("damson", "damson")
    cluster.redis.stop()
    stopped = time.monotonic()
    cluster.gql(RENAME, {"id": document, "t": "damson jam"})
    cluster.upload("elder", "elder")
    time.sleep(max(0.0, outage - (time.monotonic() - stopped)))
    cluster.redis.start()
    expected = {"title:jam": {"damson jam"}, "elder": {"elder"}}
    recovery = wait(lambda: cluster.settled(expected), 150, "redis-stop did not recover")
    alive = sum(worker.poll() is None for worker in cluster.workers)
    report("redis-stop", [f"Redis down {outage:.0f} s", f"{alive}/2 workers alive",
                          "rename and upload while down searchable", "index check clean"],
           recovery)  # fmt: skip


def database_cut(cluster: Cluster, cut: Callable[[], None], restore: Callable[[], None]) -> None:
    codes: dict[str, int] = {}
    cut()
    until = time.monotonic() + 5
    while time.monotonic() < until:
        for path in ("/graphql", "/files/originals/1", "/health"):
            try:
                if path == "/graphql":
                    me = {"query": "{ me { username } }"}
                    response = httpx.post(
                        cluster.base + path,
                        json=me,
                        timeout=10,
                        headers={"Authorization": f"Bearer {cluster.token}"},
                    )
                else:
                    response = httpx.get(
                        cluster.base + path,
                        timeout=10,
                        headers={"Authorization": f"Bearer {cluster.token}"},
                    )
            except httpx.HTTPError:
                key = f"{path} no answer"
            else:
                coded = "DATABASE_UNAVAILABLE" in response.text
                key = f"{path} {response.status_code}{' coded' if coded else ''}"
            codes[key] = codes.get(key, 0) + 1
        time.sleep(0.3)
    restore()
    started = time.monotonic()
    wait(lambda: "username" in json.dumps(cluster.gql("{ me { username } }")), 30, "no recovery")
    log = (cluster.root / "api.log").read_text(errors="replace")
    report("database-cut", [f"{count}x {key}" for key, count in sorted(codes.items())]
           + [f"{log.count('Traceback')} tracebacks in the API log"],
           time.monotonic() - started)  # fmt: skip


def api_killed_mid_upload(cluster: Cluster) -> None:
    """Kill the API the moment its scratch folder for an arriving upload exists."""
    tmp = cluster.root / "data" / "storage" / "tmp"
    before = cluster.gql(DOCS)["data"]["documents"]["totalCount"]
    body = b"%PDF-1.4\n" + b"0" * (40 * 1024 * 1024)

    def send() -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(
                f"{cluster.base}/graphql",
                data={"operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
                      "map": json.dumps({"0": ["variables.file"]})},
                files={"0": ("big.pdf", body, "application/pdf")},
                headers={"Authorization": f"Bearer {cluster.token}"}, timeout=60,
            )  # fmt: skip

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    assert cluster.api is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (tmp.is_dir() and any(tmp.iterdir())):
        time.sleep(0.005)
    os.killpg(cluster.api.pid, signal.SIGKILL)
    cluster.api.wait()
    sender.join(60)
    left = len(list(tmp.iterdir())) if tmp.is_dir() else 0
    started = time.monotonic()
    cluster.start_api()
    wait(lambda: not tmp.is_dir() or not any(tmp.iterdir()), 30, "scratch left")
    after = cluster.gql(DOCS)["data"]["documents"]["totalCount"]
    report("api-killed-mid-upload", [f"{left} scratch folder(s) left by the kill, 0 after restart",
                                     f"pages found before/after {before}/{after}"],
           time.monotonic() - started)  # fmt: skip


def concurrent_reprocess(cluster: Cluster) -> None:
    document = cluster.upload("fig", "fig")
    wait(cluster.all_ready, 60, "fig not ready")
    outcomes: dict[str, int] = {}
    query = """mutation($id: ID!) { reprocessDocument(documentId: $id) { errors { code } } }"""
    for _ in range(5):
        results: list[str] = []

        def call(results: list[str] = results) -> None:
            body = cluster.gql(query, {"id": document})
            if body.get("errors"):
                results.append(body["errors"][0].get("extensions", {}).get("code", "?"))
            else:
                codes = [e["code"] for e in body["data"]["reprocessDocument"]["errors"]]
                results.append(codes[0] if codes else "ok")

        threads = [threading.Thread(target=call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        for result in results:
            outcomes[result] = outcomes.get(result, 0) + 1
        wait(cluster.all_ready, 60, "reprocessing did not finish")
    report("concurrent-reprocess", [f"{n}x {code}" for code, n in sorted(outcomes.items())], None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outage", type=float, default=20.0, help="seconds Redis stays down")
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="archivist-faults-") as folder:
        root = Path(folder)
        proxy = None
        if args.database_url:
            parts = urlsplit(args.database_url)
            proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
            host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
            url = urlunsplit(parts._replace(netloc=f"{host}:{proxy.port}"))
            cut, restore = proxy.cut, proxy.restore
        else:
            path = root / "archivist.sqlite3"
            url = f"sqlite:///{path}"
            away = root / "archivist.sqlite3.away"

            def cut() -> None:
                path.rename(away)
                path.mkdir()

            def restore() -> None:
                path.rmdir()
                away.rename(path)

        cluster = Cluster(root, url)
        print(f"database: {'PostgreSQL via proxy' if proxy else 'SQLite'}; API + 2 workers; "
              f"private Redis on port {cluster.redis.port}", flush=True)  # fmt: skip
        try:
            cluster.start()
            redis_flush(cluster)
            redis_stop(cluster, args.outage)
            database_cut(cluster, cut, restore)
            api_killed_mid_upload(cluster)
            concurrent_reprocess(cluster)
        finally:
            cluster.stop()
            if proxy is not None:
                proxy.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
