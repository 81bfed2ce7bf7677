#!/usr/bin/env python3
"""Benchmark what shares cost search: a person searching what is shared with them against a
person searching as much of their own.

Run: ``.venv/bin/python scripts/bench/search_shares.py [--pages 100000] [--engine xapian]
[--rounds 20]``

It builds a real database (SQLite, migrations) and index in a temporary folder from the
corpus of ``scripts/bench/search_engines.py``: its documents go into 500 folders; "owner"
holds folders 0-49, "alice" folders 50-499, and alice shares folders 50-99 with "sharee"
(50 shares, with the built-in Viewer role). The owner and the sharee so each read a tenth of
the corpus, of the same kind. Reader terms come from ``core.search.readers_of``, as index
jobs write them. Each query of the corpus's mix runs through the search resolver's own
function (``_run_search``: the engine query with the viewer's principals, then the access
module's check of every hit's document, which for the sharee is the recursive query over
the shared folders), for both people, and the medians are compared.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules: scripts are not a package

from project_venv import reexec_in_venv  # noqa: E402

if __name__ == "__main__":
    reexec_in_venv()

from archivist.core.accounts.roles import ensure_builtin_roles  # noqa: E402
from archivist.core.db import configure_database, database  # noqa: E402
from archivist.core.migrations import migrate  # noqa: E402
from archivist.core.models import DocumentVersion, Node, Share, User  # noqa: E402
from archivist.core.search import readers_of  # noqa: E402
from archivist.core.settings import Settings, load_settings  # noqa: E402
from archivist.core.users import create_user, viewer_for  # noqa: E402
from archivist.graphql.search import _run_search  # noqa: E402
from archivist.indexes import PageRecord, open_index  # noqa: E402

FOLDERS = 500
OWN = range(0, 50)  # the owner's folders
SHARED = range(50, 100)  # alice's folders shared with the sharee


def load_corpus() -> Any:
    spec = importlib.util.spec_from_file_location("search_engines", HERE / "search_engines.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_settings(data_dir: Path, engine: str) -> Settings:
    return load_settings(
        {
            "ARCHIVIST_DATA_DIR": str(data_dir),
            "ARCHIVIST_DATABASE_URL": f"sqlite:///{data_dir / 'archivist.sqlite3'}",
            "ARCHIVIST_SEARCH_BACKEND": engine,
            "ARCHIVIST_SECRET_KEY": "bench-secret-key-0123456789",
        }
    )


def build(settings: Settings, corpus: Any, pages: int) -> tuple[Any, Any]:
    """The database rows and the index; returns the owner's and the sharee's viewers."""
    ensure_builtin_roles()
    owner = create_user("owner", "bench password 0123")
    alice = create_user("alice", "bench password 0123")
    sharee = create_user("sharee", "bench password 0123")
    homes = {
        user.id: Node.get((Node.owner_user == user.id) & (Node.special == Node.HOME))
        for user in (owner, alice)
    }
    folders = []
    for number in range(FOLDERS):
        user = owner if number in OWN else alice
        folders.append(
            Node.create(kind="folder", title=f"F{number}", parent=homes[user.id], owner_user=user)
        )
    viewer_role = ensure_builtin_roles()["Viewer"]
    for number in SHARED:
        Share.create(node=folders[number], user=sharee, role=viewer_role, created_by=alice)
    first = (Node.select(Node.id).order_by(Node.id.desc()).scalar() or 0) + 1
    batch: dict[int, list[PageRecord]] = {}
    spent, done = 0.0, 0
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    with open_index(settings.search_backend, settings.index_dir) as index:
        for corpus_id, records in corpus.generate_corpus(pages):
            document_id = first + corpus_id - 1
            folder = folders[corpus_id % FOLDERS]
            with database.atomic():
                node = Node.create(
                    id=document_id, kind="document", title=f"d{document_id}",
                    parent=folder.id, owner_user=folder.owner_user_id,
                )  # fmt: skip
                version = DocumentVersion.create(
                    document=node, number=1, file_hash="0" * 64, base_hash="0" * 64,
                    page_count=len(records),
                )  # fmt: skip
            readers = readers_of(node, [homes[folder.owner_user_id], folder])
            batch[document_id] = [
                replace(
                    record,
                    document_id=document_id,
                    version_id=version.id,
                    owner_id=folder.owner_user_id,
                    readers=readers,
                    folder_path=("Home", folder.title),
                    folder_ids=(folder.parent_id, folder.id),
                )
                for record in records
            ]
            if sum(len(v) for v in batch.values()) >= 2000:
                started = time.perf_counter()
                index.replace_documents(batch)
                spent += time.perf_counter() - started
                done += sum(len(v) for v in batch.values())
                batch = {}
                print(f"    {done:>7} pages indexed, {done / spent:,.0f} pages/s", flush=True)
        index.replace_documents(batch)
    return viewer_for(User.get_by_id(owner.id)), viewer_for(User.get_by_id(sharee.id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=100_000)
    parser.add_argument("--engine", default="xapian")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    corpus = load_corpus()
    with tempfile.TemporaryDirectory(prefix="archivist-bench-") as folder:
        settings = make_settings(Path(folder), args.engine)
        configure_database(settings.database_url)
        with database.connection_context():
            migrate(database.obj)
            print(f"Building {args.pages} pages ({args.engine})...", flush=True)
            owner, sharee = build(settings, corpus, args.pages)
            print(f"{'query':<18} {'own ms':>8} {'shared ms':>10} {'ratio':>6} {'hits':>12}")
            ratios, own_all, shared_all = [], [], []
            for name, query, _principals in corpus.query_mix():
                times: dict[str, list[float]] = {"own": [], "shared": []}
                hits = {}
                for who, viewer in (("own", owner), ("shared", sharee)):
                    results = _run_search(settings, viewer, query, 20, 0, False)[0]
                    hits[who] = results.total  # the warm-up run: caches as a server has them
                for _ in range(args.rounds):
                    for who, viewer in (("own", owner), ("shared", sharee)):
                        started = time.perf_counter()
                        _run_search(settings, viewer, query, 20, 0, False)
                        times[who].append((time.perf_counter() - started) * 1000)
                own, shared = statistics.median(times["own"]), statistics.median(times["shared"])
                own_all += times["own"]
                shared_all += times["shared"]
                ratios.append(shared / own)
                print(
                    f"{name:<18} {own:>8.2f} {shared:>10.2f} {shared / own:>6.2f} "
                    f"{hits['own']:>5}/{hits['shared']:<6}"
                )
            overall = statistics.median(shared_all) / statistics.median(own_all)
            print(f"median over all queries: shared/own = {overall:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
