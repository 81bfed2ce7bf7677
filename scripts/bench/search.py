#!/usr/bin/env python3
"""Benchmark search end to end: the GraphQL API beside the raw engine call it makes.

Run: ``.venv/bin/python scripts/bench/search.py [--pages 10000 100000]
[--engines xapian whoosh] [--rounds 30]``

For each size and engine it builds a real app (temporary data folder, SQLite, migrations,
two users), indexes the generated corpus of ``scripts/bench/search_engines.py`` straight
into the app's index folder, and prints: pages indexed per second, index size on disk,
and p50/p95/p99 latency of that script's fixed query mix, once through ``index.search``
(the call the resolver makes, on the very handle it uses) and once as a GraphQL POST to a
real Uvicorn server, so the cost of our layers (HTTP, auth, GraphQL, database lookups of
the hit documents) shows as the difference.

The corpus names 50 users and 20 groups as readers, but a viewer has one user id. So its
reader terms are mapped onto the database: corpus ``user:1`` is the user "reader" (in
groups 1-3, exactly the query mix's typical principals) and every other corpus user
becomes a group of its own, which the user "auditor" joins with all the others: 70
principals, matching every page, as the mix's last query does. Each document gets a Node
row (no Page rows, so no highlights are computed). Needs Redis only for the app's
broadcaster: ``ARCHIVIST_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/14).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

if (
    __name__ == "__main__"
    and VENV_PYTHON.exists()
    and Path(sys.prefix) != VENV_PYTHON.parent.parent
):
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])

import httpx2  # noqa: E402
import uvicorn  # noqa: E402

from archivist.core import search as core_search  # noqa: E402
from archivist.core.db import configure_database, database  # noqa: E402
from archivist.core.migrations import migrate  # noqa: E402
from archivist.core.models import Group, Membership, Node, User  # noqa: E402
from archivist.core.search import search_index  # noqa: E402
from archivist.core.settings import Settings, load_settings  # noqa: E402
from archivist.core.users import Viewer, create_user, login, viewer_for  # noqa: E402
from archivist.graphql.app import create_app  # noqa: E402
from archivist.indexes import PageRecord, SearchIndex, open_index  # noqa: E402

SEARCH = """
query Search($q: String!) {
  search(query: $q, first: 20) {
    totalCount
    edges { node { pageNumber snippet score document { id title } } }
  }
}
"""
PASSWORD = "bench password 0123"
LIMIT = 20  # what the GraphQL query asks for, so both sides fetch the same hits


def load_corpus() -> ModuleType:
    """``scripts/bench/search_engines.py``, loaded by path (scripts are not a package)."""
    spec = importlib.util.spec_from_file_location("search_engines", HERE / "search_engines.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


corpus: Any = load_corpus()  # a script module: its attributes are not typed


@dataclass
class Account:
    """A benchmark user: who they are to the index, and their bearer token."""

    viewer: Viewer
    token: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def make_settings(data_dir: Path, engine: str) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    return load_settings(
        {
            "ARCHIVIST_DATA_DIR": str(data_dir),
            "ARCHIVIST_DATABASE_URL": f"sqlite:///{data_dir / 'archivist.sqlite3'}",
            "ARCHIVIST_SEARCH_BACKEND": engine,
            "ARCHIVIST_REDIS_URL": os.environ.get(
                "ARCHIVIST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"
            ),
            "ARCHIVIST_SECRET_KEY": "bench-secret-key-0123456789",
        }
    )


def make_accounts(settings: Settings) -> tuple[Account, Account, dict[str, str]]:
    """Create "reader" and "auditor" and the groups; return them and the reader-term map
    from corpus principals to this database's."""
    reader = create_user("reader", PASSWORD)
    auditor = create_user("auditor", PASSWORD)
    # Corpus groups 1-20, then one group for each corpus user but the first.
    groups = [Group.create(name=f"bench-group-{n}") for n in range(1, corpus.GROUPS + corpus.USERS)]
    terms = {f"group:{n}": f"group:{groups[n - 1].id}" for n in range(1, corpus.GROUPS + 1)}
    terms["user:1"] = f"user:{reader.id}"
    for n in range(2, corpus.USERS + 1):
        terms[f"user:{n}"] = f"group:{groups[corpus.GROUPS + n - 2].id}"
    for group in groups[:3]:
        Membership.create(user=reader, group=group)
    for group in groups:
        Membership.create(user=auditor, group=group)
    accounts = []
    for user in (reader, auditor):
        token, _row, _user = login(settings, user.username, PASSWORD)
        accounts.append(Account(viewer_for(User.get_by_id(user.id)), token))
    return accounts[0], accounts[1], terms


def remapped_corpus(
    terms: dict[str, str], first_id: int, titles: dict[int, str]
) -> Callable[..., Iterator[tuple[int, list[PageRecord]]]]:
    """The corpus generator with document ids from ``first_id`` and reader terms mapped;
    records each document's title in ``titles`` for its Node row."""
    generate = corpus.generate_corpus

    def generate_remapped(pages: int, **options: Any) -> Iterator[tuple[int, list[PageRecord]]]:
        for document_id, records in generate(pages, **options):
            new_id = document_id + first_id - 1
            titles[new_id] = records[0].title
            yield (
                new_id,
                [
                    replace(
                        record,
                        document_id=new_id,
                        version_id=new_id * 10 + 1,
                        readers=tuple(terms[reader] for reader in record.readers),
                    )
                    for record in records
                ],
            )

    return generate_remapped


def create_nodes(titles: dict[int, str], owner: User) -> None:
    """One document Node per indexed document, in the owner's Home (titles made unique)."""
    home = Node.get((Node.owner_user == owner) & (Node.special == Node.HOME))
    rows = [
        {
            "id": document_id,
            "kind": Node.DOCUMENT,
            "title": f"{title} ({document_id})"[:255],
            "parent": home.id,
            "owner_user": owner.id,
        }
        for document_id, title in titles.items()
    ]
    with database.atomic():
        for start in range(0, len(rows), 500):
            Node.insert_many(rows[start : start + 500]).execute()


def build_index(settings: Settings, pages: int, terms: dict[str, str], owner: User) -> float:
    """Index ``pages`` corpus pages into the app's index; return the seconds spent."""
    first_id = (Node.select(Node.id).order_by(Node.id.desc()).scalar() or 0) + 1
    titles: dict[int, str] = {}
    original = corpus.generate_corpus
    corpus.generate_corpus = remapped_corpus(terms, first_id, titles)
    try:
        settings.index_dir.mkdir(parents=True, exist_ok=True)
        with open_index(settings.search_backend, settings.index_dir) as index:
            seconds: float = corpus.build(index, pages)
    finally:
        corpus.generate_corpus = original
    create_nodes(titles, owner)
    return seconds


class BackgroundServer:
    """Uvicorn serving ``app`` on a free local port from a thread, for a ``with`` block."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def graphql_search(client: httpx2.Client, account: Account, query: str) -> int:
    """POST the search; return totalCount (raises on errors or a non-200 answer)."""
    response = client.post(
        "/graphql",
        json={"query": SEARCH, "variables": {"q": query}},
        headers={"Authorization": f"Bearer {account.token}"},
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors for {query!r}: {body['errors']}")
    total: int = body["data"]["search"]["totalCount"]
    return total


Mix = list[tuple[str, str, Account]]


def time_mix(mix: Mix, rounds: int, call: Callable[[str, Account], int]) -> dict[str, list[float]]:
    """Run ``mix`` once to warm up, then ``rounds`` times; milliseconds per query name."""
    for _name, query, account in mix:
        call(query, account)
    timings: dict[str, list[float]] = {name: [] for name, _, _ in mix}
    for _ in range(rounds):
        for name, query, account in mix:
            started = time.perf_counter()
            call(query, account)
            timings[name].append((time.perf_counter() - started) * 1000)
    return timings


def quantiles(values: list[float]) -> str:
    return " ".join(f"{corpus.percentile(values, q):>7.2f}" for q in (0.5, 0.95, 0.99))


def bench(engine: str, pages: int, rounds: int) -> str:
    """Build, index and measure one engine at one size; print as it goes; return the row."""
    folder = Path(tempfile.mkdtemp(prefix=f"bench-search-{engine}-"))
    try:
        settings = make_settings(folder / "data", engine)
        db = configure_database(settings.database_url)
        with db.connection_context():
            migrate(db)
            reader, auditor, terms = make_accounts(settings)
            print(f"{engine}, {pages} pages: indexing…", flush=True)
            seconds = build_index(settings, pages, terms, User.get_by_id(reader.viewer.id))
        size = corpus.folder_size(settings.index_dir) / 1e6
        print(
            f"  indexed in {seconds:.1f} s ({pages / seconds:,.0f} pages/s), {size:.1f} MB",
            flush=True,
        )
        # The typical principals of the mix are the reader's; the long list the auditor's.
        mix: Mix = [
            (name, query, auditor if len(principals) > len(reader.viewer.principals) else reader)
            for name, query, principals in corpus.query_mix()
        ]
        index: SearchIndex = search_index(settings)  # the handle the resolver uses

        def raw(query: str, account: Account) -> int:
            return index.search(query, principals=account.viewer.principals, limit=LIMIT).total

        with (
            BackgroundServer(create_app(settings)) as server,
            httpx2.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client,
        ):

            def api(query: str, account: Account) -> int:
                return graphql_search(client, account, query)

            for name, query, account in mix:
                engine_total, api_total = raw(query, account), api(query, account)
                note = "" if engine_total == api_total else "  MISMATCH"
                print(f"  {name:<18} {engine_total:>7} hits engine, {api_total:>7} API{note}")
            raw_times = time_mix(mix, rounds, raw)
            api_times = time_mix(mix, rounds, api)
        print(f"  {'median ms':<18} {'engine':>8} {'API':>8}", flush=True)
        for name in raw_times:
            engine_median = corpus.percentile(raw_times[name], 0.5)
            api_median = corpus.percentile(api_times[name], 0.5)
            print(f"  {name:<18} {engine_median:>8.2f} {api_median:>8.2f}", flush=True)
        all_raw = [value for values in raw_times.values() for value in values]
        all_api = [value for values in api_times.values() for value in values]
        row = (
            f"{engine:<7} {pages:>7} {pages / seconds:>8,.0f} {size:>8.1f}"
            f"  {quantiles(all_raw)}  {quantiles(all_api)}"
        )
        print(HEADER + "\n" + row, flush=True)
        return row
    finally:
        # The resolver's handle is cached per process; close it before its folder goes.
        handles = core_search._indexes
        for key in [key for key in handles if key[1].startswith(str(folder))]:
            handles.pop(key).close()
        if not database.is_closed():
            database.close()
        shutil.rmtree(folder, ignore_errors=True)


HEADER = (
    f"{'engine':<7} {'pages':>7} {'pages/s':>8} {'size MB':>8}"
    f"  {'engine p50 / p95 / p99 ms':>23}  {'GraphQL p50 / p95 / p99 ms':>23}"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[10_000])
    parser.add_argument("--engines", nargs="+", default=["xapian", "whoosh"])
    parser.add_argument("--rounds", type=int, default=30, help="times the query mix runs")
    args = parser.parse_args(argv)
    rows = []
    started = time.monotonic()
    for pages in args.pages:
        for engine in args.engines:
            rows.append(bench(engine, pages, args.rounds))
    print(f"\n{len(corpus.query_mix())} queries x {args.rounds} rounds per side", flush=True)
    print(HEADER + "\n" + "\n".join(rows))
    print(f"total {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
