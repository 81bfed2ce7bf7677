"""The load test's set-up: a fresh database, the API and workers as processes, seed documents.

The API and the workers are started exactly as an operator would (``archivist serve``,
``archivist worker``) with a clean environment, each in a session of its own so that stopping
them stops what they started. The API listens on a free port of 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx2 as httpx
from load_clients import TIMEOUT, Stats
from load_corpus import World

from archivist.core.db import configure_database, database
from archivist.core.migrations import migrate
from archivist.core.users import create_user

ME = "{ me { home { id } inbox { id } } }"
CREATE_FOLDER = """mutation($parent: ID!) { createFolder(parentId: $parent, title: "Seeds") {
  node { id } errors { code message } } }"""
STATUS = "query($id: ID!) { document(id: $id) { status error } }"
DETAILS = """query($id: ID!) { document(id: $id) { originalUrl
  pages { edges { node { id number previewUrl(size: THUMBNAIL) } } } } }"""
UPLOAD_SEED = """mutation($file: Upload!, $folder: ID, $title: String) {
  uploadDocument(file: $file, folderId: $folder, title: $title, ocrMode: AUTO) {
    document { id } errors { code message } } }"""
MAP = json.dumps({"0": ["variables.file"]})
INTERNAL = "INTERNAL_SERVER_ERROR"
# A traceback's last line ("module.Class: message", "NameError: ...") or a C-level crash.
EXCEPTION_LINE = re.compile(
    r"^(([a-z_]\w*\.)+[A-Z]\w*|[A-Z]\w*(Error|Exception))(: |$)|^Fatal Python"
)
LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) {
  token errors { code message } } }"""


def prepare_database(url: str, world: World) -> None:
    """Drop every table, migrate, and create the world's users (Home and Inbox included)."""
    db = configure_database(url)
    with db.connection_context():
        for table in db.get_tables():  # a server database may hold an earlier run's tables
            cascade = " CASCADE" if "Postgres" in type(db).__name__ else ""
            if "MySQL" in type(db).__name__:
                db.execute_sql("SET FOREIGN_KEY_CHECKS = 0")
            quoted = f"`{table}`" if "MySQL" in type(db).__name__ else f'"{table}"'
            db.execute_sql(f"DROP TABLE IF EXISTS {quoted}{cascade}")
        migrate(db)
        for user in world.users:
            create_user(user.username, user.password)
    database.close()


class Processes:
    """``archivist serve`` and ``archivist worker`` processes of one run."""

    def __init__(self, data_dir: Path, database_url: str, redis_url: str) -> None:
        self.data_dir = data_dir
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "ARCHIVIST_DATA_DIR": str(data_dir),
            "ARCHIVIST_DATABASE_URL": database_url,
            "ARCHIVIST_REDIS_URL": redis_url,
            "ARCHIVIST_SECRET_KEY": "load-test-secret-key-0123456789",
            "PYTHONFAULTHANDLER": "1",  # a crash in C code logs every thread's stack
        }
        self.api: Any = None
        self.workers: list[Any] = []
        self.rss_boot: int | None = None

    def _spawn(self, name: str, *command: str) -> Any:
        with (self.data_dir / f"{name}.log").open("w") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "archivist.core.cli", *command],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def start(self, workers: int) -> str:
        """Start the API and the workers; returns the API's base URL once it answers."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.api = self._spawn("api", "serve", "--host", "127.0.0.1", "--port", str(port))
        for n in range(1, workers + 1):
            self.workers.append(self._spawn(f"worker-{n}", "worker", "--name", f"load-{n}"))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not self.api_alive():
                raise RuntimeError(f"the API exited at start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                    if response.status == 200:
                        return base
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the API did not answer within 60 s:\n{self.log_tail()}")

    def api_alive(self) -> bool:
        return self.api is not None and self.api.poll() is None

    def api_exit(self) -> str | None:
        """None while the API runs; else how it ended (a signal's name for a crash)."""
        if self.api_alive():
            return None
        code = self.api.returncode
        return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"

    def api_rss_kib(self) -> int | None:
        """The API's resident memory (``VmRSS`` of /proc/PID/status) in KiB; None once it
        has exited (a zombie has no VmRSS line)."""
        try:
            status = Path(f"/proc/{self.api.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return None

    def workers_alive(self) -> int:
        return sum(worker.poll() is None for worker in self.workers)

    def log_tail(self, lines: int = 40) -> str:
        text = (self.data_dir / "api.log").read_text(errors="replace").splitlines()
        noise = ("HTTP/1.1", "WebSocket /graphql", "connection open", "connection closed")
        kept = [line for line in text if not any(part in line for part in noise)]
        return "\n".join(kept[-lines:]) or "(empty)"

    def api_errors(self) -> dict[str, int]:
        """The distinct exceptions the API logged (a traceback's last line), with counts."""
        found: dict[str, int] = {}
        for line in (self.data_dir / "api.log").read_text(errors="replace").splitlines():
            if EXCEPTION_LINE.match(line):
                found[line[:200]] = found.get(line[:200], 0) + 1
        return found

    def stop(self) -> None:
        running = [p for p in [self.api, *self.workers] if p is not None]
        for process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


async def setup_world(base: str, world: World, timeout: float, stats: Stats) -> None:
    """Log every user in, upload their seeds into a "Seeds" folder, wait until all are READY
    and learn the ids and signed URLs the clients will check against.

    An internal error (5xx, or INTERNAL_SERVER_ERROR) is counted in ``stats`` as the API's
    failure and the request tried again, up to 5 times. Raises RuntimeError on any other
    answer but the expected one: the run cannot go on without it.
    """
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, trust_env=False) as http:

        async def ask(query: str, variables: dict[str, Any], token: str = "", **upload: Any) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            if upload:  # the GraphQL multipart request spec, one file
                operations = json.dumps({"query": query, "variables": variables})
                body: dict[str, Any] = {"data": {"operations": operations, "map": MAP}}
                body["files"] = upload
            else:
                body = {"json": {"query": query, "variables": variables}}
            for _attempt in range(5):
                response = await http.post("/graphql", headers=headers, **body)
                data = response.json() if response.status_code < 500 else {}
                codes = [(e.get("extensions") or {}).get("code") for e in data.get("errors", [])]
                if response.status_code < 500 and INTERNAL not in codes:
                    break
                kind = "5xx" if response.status_code >= 500 else f"graphql {INTERNAL}"
                stats.fail(kind, "set-up", f"{query.split('(')[0]} {variables}: {data}")
                await asyncio.sleep(0.5)
            if response.status_code != 200 or data.get("errors"):
                raise RuntimeError(f"{query.split('(')[0]}: {response.status_code} {data}")
            return data["data"]

        for user in world.users:
            login = (await ask(LOGIN, {"u": user.username, "p": user.password}))["login"]
            user.token = login["token"]
            me = (await ask(ME, {}, user.token))["me"]
            user.home_id, user.inbox_id = me["home"]["id"], me["inbox"]["id"]
            folder = await ask(CREATE_FOLDER, {"parent": user.home_id}, user.token)
            user.seeds_folder_id = folder["createFolder"]["node"]["id"]
            for document in user.seeds:
                variables = {"file": None, "folder": user.seeds_folder_id, "title": document.title}
                file = (f"{document.title}.pdf", document.pdf, "application/pdf")
                result = await ask(UPLOAD_SEED, variables, user.token, **{"0": file})
                if result["uploadDocument"]["errors"]:
                    raise RuntimeError(f"seed upload {document.title}: {result}")
                document.id = result["uploadDocument"]["document"]["id"]
                user.document_ids.add(document.id)
        deadline = time.monotonic() + timeout
        for user in world.users:
            for document in user.seeds:
                while True:
                    status = (await ask(STATUS, {"id": document.id}, user.token))["document"]
                    if status["status"] == "READY":
                        break
                    if status["status"] == "FAILED" or time.monotonic() > deadline:
                        raise RuntimeError(f"seed {document.title}: {status}")
                    await asyncio.sleep(0.5)
                details = (await ask(DETAILS, {"id": document.id}, user.token))["document"]
                document.original_url = details["originalUrl"]
                for edge, page in zip(details["pages"]["edges"], document.pages, strict=True):
                    page.id, page.preview_url = edge["node"]["id"], edge["node"]["previewUrl"]
