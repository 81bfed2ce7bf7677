"""Helpers shared by the tests (importable as ``support``: pyproject puts tests/ on the path)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from peewee import Database
from starlette.testclient import TestClient

REPO = Path(__file__).resolve().parent.parent
TEST_PASSWORD = "correct horse battery"


def default_database_url(tmp_dir: Path) -> str:
    return os.environ.get("ARCHIVIST_TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.sqlite3'}"


def default_redis_url() -> str:
    return os.environ.get("ARCHIVIST_TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"


def settings_env(data_dir: Path, database_url: str, **overrides: str) -> dict[str, str]:
    """An environment for Archivist processes under test."""
    env = {
        "ARCHIVIST_DATA_DIR": str(data_dir),
        "ARCHIVIST_DATABASE_URL": database_url,
        "ARCHIVIST_REDIS_URL": default_redis_url(),
        "ARCHIVIST_SECRET_KEY": "test-secret-key-0123456789",
        "ARCHIVIST_LOGIN_MAX_FAILURES": "3",
    }
    env.update(overrides)
    return env


def drop_all_tables(db: Database) -> None:
    """Empty a server database of every table, whatever an earlier run left."""
    tables = user_tables(db)
    if not tables:
        return
    if db.__class__.__name__.endswith("MySQLDatabase"):
        db.execute_sql("SET FOREIGN_KEY_CHECKS = 0")
        for table in tables:
            db.execute_sql(f"DROP TABLE `{table}`")
        db.execute_sql("SET FOREIGN_KEY_CHECKS = 1")
    elif db.__class__.__name__.endswith("PostgresqlDatabase"):
        db.execute_sql("DROP TABLE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE")
    else:
        db.execute_sql("PRAGMA foreign_keys = OFF")
        for table in tables:
            db.execute_sql(f'DROP TABLE "{table}"')
        if "sqlite_sequence" in db.get_tables():  # AUTOINCREMENT's counters (not droppable)
            db.execute_sql("DELETE FROM sqlite_sequence")
        db.execute_sql("PRAGMA foreign_keys = ON")


def clear_tables() -> None:
    """Empty every table but the migrations' record (the schema stays)."""
    from archivist.core.db import database
    from archivist.core.models import MODELS, Migration

    with database.connection_context(), database.atomic():
        for model in reversed(MODELS):
            if model is not Migration:
                model.delete().execute()


def user_tables(db: Database) -> list[str]:
    """The database's tables, without SQLite's own (``sqlite_sequence``)."""
    return [table for table in db.get_tables() if not table.startswith("sqlite_")]


def graphql(
    client: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST one GraphQL operation; returns the decoded response body."""
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["Authorization"] = f"Bearer {token}"
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
    )
    body: dict[str, Any] = response.json()
    return body


LOGIN = """
mutation Login($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    token expiresAt user { username } errors { code message field }
  }
}
"""


def graphql_data(client: TestClient, token: str, query: str, **variables: Any) -> Any:
    """The ``data`` of a request that must succeed (no errors at all)."""
    body = graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


def login(client: TestClient, username: str, password: str = TEST_PASSWORD) -> str:
    """Log in through GraphQL; returns the token (fails the test otherwise)."""
    payload = graphql(client, LOGIN, {"username": username, "password": password})["data"]
    assert payload["login"]["errors"] == [], payload
    token: str = payload["login"]["token"]
    return token


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_http(url: str, timeout: float = 60.0, process: Any = None) -> None:
    """Poll ``url`` until it answers 200; fails early if ``process`` exits."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


UPLOAD = """
mutation Upload(
  $file: Upload!, $title: String, $mode: OcrMode, $languages: [String!], $password: String,
  $allowDuplicate: Boolean, $folder: ID
) {
  uploadDocument(
    file: $file, title: $title, ocrMode: $mode, languages: $languages, password: $password,
    allowDuplicate: $allowDuplicate, folderId: $folder
  ) {
    document { id title ... on Document { status pageCount } }
    duplicateOf { id title }
    errors { code message field }
  }
}
"""


def upload(
    client: Any,
    token: str,
    name: str,
    content: bytes,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send a file with the GraphQL multipart request spec (``client``: TestClient or httpx)."""
    import json

    operations = {"query": UPLOAD, "variables": {"file": None, **(variables or {})}}
    response = client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (name, content, "application/octet-stream")},
        headers={"Authorization": f"Bearer {token}"},
    )
    body: dict[str, Any] = response.json()
    return body


def run_worker_burst(settings: Any, **overrides: str) -> None:
    """Run ``archivist worker --burst``: every queued job, then exit (``overrides``: more
    ``ARCHIVIST_*`` variables)."""
    import subprocess
    import sys

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           **settings_env(settings.data_dir, settings.database_url, **overrides)}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "archivist.core.cli", "worker", "--burst"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def character_error_rate(expected: str, got: str) -> float:
    """Levenshtein distance between the texts divided by the expected length."""
    previous = list(range(len(got) + 1))
    for i, a in enumerate(expected, start=1):
        current = [i]
        for j, b in enumerate(got, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] / max(len(expected), 1)


def make_document(parent_id: int, owner_id: int, title: str, texts: list[str]) -> int:
    """A processed document straight in the database (no file work); returns its node id."""
    from archivist.core.db import database
    from archivist.core.models import Document, DocumentVersion, Node, Page

    with database.connection_context(), database.atomic():
        node = Node.create(kind="document", title=title, parent=parent_id, owner_user=owner_id)
        Document.create(
            node=node, original_hash="0" * 64, original_name=f"{title}.pdf",
            original_type="application/pdf", original_size=1, ocr_languages="en",
            ocr_mode="auto", ocr_engine="easyocr", status="ready",
        )  # fmt: skip
        version = DocumentVersion.create(
            document=node, number=1, file_hash="0" * 64, base_hash="0" * 64, page_count=len(texts),
            has_text_layer=True, finalize_enqueued=True,
        )  # fmt: skip
        Page.insert_many(
            [
                {
                    "version": version.id,
                    "number": i,
                    "width": 595,
                    "height": 842,
                    "status": "done",
                    "text": text,
                    "source": "text_layer",
                }
                for i, text in enumerate(texts, start=1)
            ]
        ).execute()
        return int(node.id)


def gid(type_name: str, row_id: int) -> str:
    """The API's global id of a database row (``gid("Folder", home.id)``)."""
    from archivist.core.ids import global_id

    return global_id(type_name, int(row_id))


def row_id(value: str) -> int:
    """The database row an API id names (any type)."""
    from archivist.core.ids import TYPES, decode_id

    return decode_id(value, tuple(TYPES))[1]


def print_logs(folder: Path, last: int = 4000) -> None:
    """Print the end of every log file in ``folder`` (for a failing test's output)."""
    for log in sorted(folder.iterdir()):
        print(f"--- {log.name}\n{log.read_text()[-last:]}")


def stop_processes(processes: list[Any], timeout: float = 20) -> None:
    """Terminate ``processes`` (``subprocess.Popen``), then kill any that outlive ``timeout``."""
    import subprocess

    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
