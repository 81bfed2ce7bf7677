#!/usr/bin/env python3
"""Benchmark everyday API requests over real HTTP, each beside the ``{ __typename }`` floor.

Run: ``.venv/bin/python scripts/bench/api.py [--rounds 200] [--database-url URL]
[--profile OPERATION]``

It builds a real app (temporary data folder; SQLite unless ``--database-url`` names a
PostgreSQL or MariaDB database, which it migrates and adds its own rows to), makes a user
with a folder of 100 children (90 documents and 10 folders, each with two or three tags;
documents with a type of three custom fields, their values and 1-12 page versions), serves it
with Uvicorn from a thread of this process and sends each operation of :data:`OPERATIONS` as a
GraphQL POST with the user's bearer token, one request at a time, the operations taking turns
round after round, in a new order each round (so a noisy neighbour slows all of them alike).
It prints per operation p50/p95/p99 wall-clock milliseconds, the p50 as a multiple of the
``{ __typename }`` floor (HTTP, Starlette, Ariadne and the token check, with nothing to
resolve), and the median CPU milliseconds of this process (server and client together:
waiting for a core on a busy machine does not count). ``--profile NAME`` then runs that
operation under cProfile in every thread and prints its top lines (``BENCH_PROFILE_SORT``:
the pstats order, default ``tottime``).

Needs Redis only for the app's broadcaster: ``ARCHIVIST_BENCH_REDIS_URL`` (default
redis://127.0.0.1:6379/14).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules: scripts are not a package

from project_venv import reexec_in_venv  # noqa: E402

if __name__ == "__main__":
    reexec_in_venv()

import httpx2  # noqa: E402
from background_server import BackgroundServer  # noqa: E402

from archivist.core.db import configure_database, database, utcnow  # noqa: E402
from archivist.core.ids import global_id  # noqa: E402
from archivist.core.migrations import migrate  # noqa: E402
from archivist.core.models import (  # noqa: E402
    CustomField,
    CustomFieldValue,
    Document,
    DocumentType,
    DocumentVersion,
    Node,
    NodeTag,
    Page,
    Tag,
)
from archivist.core.settings import Settings, load_settings  # noqa: E402
from archivist.core.users import create_user, login  # noqa: E402
from archivist.graphql.app import create_app  # noqa: E402

PASSWORD = "bench password 0123"
CHILDREN = 100
FOLDERS = 10  # of the children; the others are documents

LISTING = """
query Listing($id: ID!) {
  node(id: $id) {
    ... on Folder {
      children(first: 100) {
        totalCount
        pageInfo { hasNextPage endCursor }
        edges {
          cursor
          node {
            __typename id title createdAt updatedAt
            tags { id name color }
            ... on Document {
              status pageCount pagesProcessed
              documentType { id name }
              customFields { field { id name kind } value }
            }
          }
        }
      }
    }
  }
}
"""
DOCUMENT = """
query Document($id: ID!) {
  document(id: $id) {
    id title status pageCount originalName
    tags { id name color }
    breadcrumb { id title }
    documentType { id name fields { id name kind } }
    customFields { field { id name } value }
    pages(first: 20) { totalCount edges { node { id number status language } } }
  }
}
"""
# name -> (query, which variables: "folder", "document" or none)
OPERATIONS: dict[str, tuple[str, str | None]] = {
    "__typename": ("{ __typename }", None),
    "me": ("{ me { id } }", None),
    "me with folders": ("{ me { id username home { id title } inbox { id title } } }", None),
    "tags": ("{ tags { id name color } }", None),
    "document types": ("{ documentTypes { id name fields { id name kind options } } }", None),
    "document": (DOCUMENT, "document"),
    "folder, 100 children": (LISTING, "folder"),
}


def make_settings(data_dir: Path, database_url: str | None) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    return load_settings(
        {
            "ARCHIVIST_DATA_DIR": str(data_dir),
            "ARCHIVIST_DATABASE_URL": database_url or f"sqlite:///{data_dir / 'archivist.sqlite3'}",
            "ARCHIVIST_REDIS_URL": os.environ.get(
                "ARCHIVIST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"
            ),
            "ARCHIVIST_SECRET_KEY": "bench-secret-key-0123456789",
        }
    )


def make_folder(settings: Settings) -> tuple[str, dict[str, dict[str, Any]]]:
    """A user with a folder of :data:`CHILDREN` children; returns the token and the
    variables of each kind of operation."""
    suffix = secrets.token_hex(4)  # a server database may hold an earlier run's rows
    user = create_user(f"bench-{suffix}", PASSWORD)
    home = Node.get((Node.owner_user == user) & (Node.special == Node.HOME))
    folder = Node.create(kind=Node.FOLDER, title="Listing", parent=home, owner_user=user)
    tags = [
        Tag.create(name=f"tag {n}", color=f"#{n * 111111 % 1000000:06d}", owner_user=user)
        for n in range(8)
    ]
    kind = DocumentType.create(name="Invoice", owner_user=user)
    fields = [
        CustomField.create(document_type=kind, name=name, kind=field_kind, position=position)
        for position, (name, field_kind) in enumerate(
            (("Number", "text"), ("Amount", "monetary"), ("Due", "date"))
        )
    ]
    now = utcnow()
    first_document = None
    with database.atomic():
        for n in range(CHILDREN):
            is_folder = n < FOLDERS
            node = Node.create(
                kind=Node.FOLDER if is_folder else Node.DOCUMENT,
                title=f"{'Folder' if is_folder else 'Invoice'} {n:03d}",
                parent=folder, owner_user=user,
                created_at=now - timedelta(days=n), updated_at=now - timedelta(hours=n),
            )  # fmt: skip
            NodeTag.insert_many(
                [{"node": node, "tag": tags[(n + k) % len(tags)]} for k in range(2 + n % 2)]
            ).execute()
            if is_folder:
                continue
            first_document = first_document or node
            Document.create(
                node=node, original_hash=f"{node.id:064x}", original_name=f"{n}.pdf",
                original_type="application/pdf", original_size=10_000, ocr_languages="en",
                ocr_mode="auto", ocr_engine="easyocr", status=Document.READY,
                document_type=kind if n % 3 else None,
            )  # fmt: skip
            version = DocumentVersion.create(
                document=node, number=1, file_hash=f"{node.id:064x}",
                base_hash=f"{node.id:064x}", page_count=1 + n % 12,
            )  # fmt: skip
            pages = [
                {"version": version, "number": p + 1, "width": 612.0, "height": 792.0,
                 "status": Page.DONE, "text": "text", "language": "en", "source": "ocr"}
                for p in range(1 + n % 12)
            ]  # fmt: skip
            Page.insert_many(pages).execute()
            if n % 3:
                values = [
                    {"document": node, "field": fields[0], "value_text": f"INV-{n}"},
                    {"document": node, "field": fields[1], "value_number": Decimal(n),
                     "value_text": "EUR"},
                    {"document": node, "field": fields[2], "value_date": date(2026, 1, 1)},
                ]  # fmt: skip
                CustomFieldValue.insert_many(values).execute()
    token, _row, _user = login(settings, user.username, PASSWORD)
    assert first_document is not None
    variables = {
        "folder": {"id": global_id("Folder", folder.id)},
        "document": {"id": global_id("Document", first_document.id)},
    }
    return token, variables


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def caller(
    client: httpx2.Client, token: str, variables: dict[str, dict[str, Any]]
) -> Callable[[str], None]:
    headers = {"Authorization": f"Bearer {token}"}

    def call(name: str) -> None:
        query, which = OPERATIONS[name]
        body: dict[str, Any] = {"query": query}
        if which is not None:
            body["variables"] = variables[which]
        response = client.post("/graphql", json=body, headers=headers)
        response.raise_for_status()
        answer = response.json()
        if answer.get("errors") or not answer.get("data"):
            raise RuntimeError(f"{name}: {answer}")

    return call


def check_listing(client: httpx2.Client, token: str, variables: dict[str, Any]) -> None:
    """The listing answers what the bench built: every child, tags, types and values."""
    response = client.post(
        "/graphql",
        json={"query": LISTING, "variables": variables["folder"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    children = response.json()["data"]["node"]["children"]
    assert children["totalCount"] == CHILDREN, children["totalCount"]
    nodes = [edge["node"] for edge in children["edges"]]
    assert len(nodes) == CHILDREN and all(len(node["tags"]) >= 2 for node in nodes)
    documents = [node for node in nodes if node["__typename"] == "Document"]
    typed = [node for node in documents if node["documentType"]]
    assert len(documents) == CHILDREN - FOLDERS and typed
    assert all(len(node["customFields"]) == 3 for node in typed)
    assert all(node["pageCount"] == node["pagesProcessed"] >= 1 for node in documents)


class ThreadProfiles:
    """cProfile in every thread started after :meth:`start` (the server's event loop and its
    worker threads) and in this one: a Profile enables itself only in the thread that
    enables it."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []

    def _hook(self, *_: Any) -> None:
        profile = cProfile.Profile()
        self.profiles.append(profile)
        profile.enable()  # replaces this hook in the new thread

    def start(self) -> None:
        threading.setprofile(self._hook)
        self._hook()

    def print(self, lines: int = 30) -> None:
        threading.setprofile(None)
        self.profiles[0].disable()
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            stats.add(profile)
        stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime")).print_stats(lines)


def measure(
    settings: Settings,
    token: str,
    variables: dict[str, dict[str, Any]],
    rounds: int,
    names: list[str],
    profiles: ThreadProfiles | None = None,
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Serve the app; time ``rounds`` requests of each of ``names``, taking turns."""
    if profiles is not None:
        profiles.start()
    with (
        BackgroundServer(create_app(settings)) as server,
        httpx2.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client,
    ):
        call = caller(client, token, variables)
        check_listing(client, token, variables)
        for name in names:  # warm up: caches, pools, per-thread connections
            for _ in range(10):
                call(name)
        wall: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        turns = random.Random(11)  # each round in another order: none always follows the listing
        for _ in range(rounds):
            for name in turns.sample(names, len(names)):
                started, started_cpu = time.perf_counter(), time.process_time()
                call(name)
                wall[name].append((time.perf_counter() - started) * 1000)
                cpu[name].append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="requests per operation")
    parser.add_argument(
        "--database-url", help="a PostgreSQL or MariaDB database to use (default: SQLite)"
    )
    parser.add_argument(
        "--profile", choices=list(OPERATIONS), action="append", default=[],
        help="afterwards, profile this operation (in every thread) and print the top lines",
    )  # fmt: skip
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        settings = make_settings(folder / "data", args.database_url)
        db = configure_database(settings.database_url)
        with db.connection_context():
            migrate(db)
            token, variables = make_folder(settings)
        wall, cpu = measure(settings, token, variables, args.rounds, list(OPERATIONS))
        floor = percentile(wall["__typename"], 0.5)
        scheme = settings.database_url.split(":", 1)[0]
        print(f"{scheme}, {args.rounds} sequential requests per operation over HTTP (ms)")
        print(f"{'operation':<22} {'p50':>7} {'p95':>7} {'p99':>7} {'x floor':>8} {'CPU p50':>8}")
        for name in OPERATIONS:
            p50, p95, p99 = (percentile(wall[name], q) for q in (0.5, 0.95, 0.99))
            print(
                f"{name:<22} {p50:>7.2f} {p95:>7.2f} {p99:>7.2f} {p50 / floor:>7.2f}x"
                f" {percentile(cpu[name], 0.5):>8.2f}",
                flush=True,
            )
        for name in args.profile:
            profiles = ThreadProfiles()
            measure(settings, token, variables, args.rounds, [name], profiles)
            print(f"\ncProfile of {args.rounds} x {name!r}, every thread (server and client):")
            profiles.print()
    finally:
        if not database.is_closed():
            database.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
