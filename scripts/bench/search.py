#!/usr/bin/env python3
"""Benchmark search end to end: the GraphQL API beside the raw engine call it makes.

Run: ``.venv/bin/python scripts/bench/search.py [--pages 10000 100000]
[--engines xapian xapian-remote whoosh] [--rounds 30] [--facets off|on|both]``

For each size and engine it builds a real app (temporary data folder, SQLite, migrations, two
users), writes the generated corpus of ``scripts/bench/search_engines.py`` into the database as
ready documents (node, document, version, finished pages with text and word boxes, tags, types,
folders; generated and written in chunks, so memory stays bounded at any size), indexes it
(``xapian-remote``: Xapian's remote backend, through a ``xapian-tcpsrv --writable`` that this
script starts on a free local port, as ``ARCHIVIST_XAPIAN_REMOTE`` configures it; needs
Debian's xapian-tools) through the index job's code path (``index_documents``: database reads,
index write, revision record, in batches as ``archivist index`` does), and prints: pages
indexed per second, index size on disk, the process's RSS (the API server runs in it), and
p50/p95/p99 latency (wall-clock and CPU milliseconds) of that script's fixed query mix, once
through ``index.search`` (the call the resolver makes, on a handle like the one it uses) and
once as a GraphQL POST to a real Uvicorn server asking for 20 hits with snippets and highlight
boxes, so the cost of our layers (HTTP, auth, GraphQL, database lookups of the hit documents
and pages) shows as the difference. Then the same for ``searchSuggestions`` (a mix of
prefixes as someone types them; engine side: ``index.complete``, the words alone; GraphQL:
words and the names of tags, types and folders).

Documents are owned as the app owns them (the index's reader terms come from the owner):
corpus owner 1 is the user "reader", every other corpus owner a group; "reader" is in the
groups of owners 2-4 (four principals, about 8% of the pages), "auditor" in all of them
(about 98%), for the mix's query with the long principal list. Needs Redis only for the
app's broadcaster: ``ARCHIVIST_BENCH_REDIS_URL`` (default redis://127.0.0.1:6379/14).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules: scripts are not a package

from project_venv import reexec_in_venv  # noqa: E402

if __name__ == "__main__":
    reexec_in_venv()

import httpx2  # noqa: E402
import xapian  # noqa: E402
from background_server import BackgroundServer, free_port  # noqa: E402

from archivist.core import search as core_search  # noqa: E402
from archivist.core.db import configure_database, database  # noqa: E402
from archivist.core.migrations import migrate  # noqa: E402
from archivist.core.models import (  # noqa: E402
    Document,
    DocumentType,
    DocumentVersion,
    Group,
    Membership,
    Node,
    NodeTag,
    Page,
    Tag,
    User,
)
from archivist.core.search import index_documents, search_index  # noqa: E402
from archivist.core.settings import Settings, load_settings  # noqa: E402
from archivist.core.users import Viewer, create_user, login, viewer_for  # noqa: E402
from archivist.graphql.app import create_app  # noqa: E402
from archivist.indexes import PageRecord, SearchIndex, open_index  # noqa: E402

SEARCH = """
query Search($q: String!) {
  search(query: $q, first: 20) {
    totalCount
    edges {
      node { pageNumber snippet score highlights { text x0 y0 x1 y1 } document { id title } }
    }
  }
}
"""
# --facets: the same with tag facets, which make the engine count every match.
SEARCH_WITH_FACETS = SEARCH.replace(
    "totalCount", "totalCount facets { tags { tag { name } count } }"
)
SUGGEST = """
query Suggest($p: String!) { searchSuggestions(prefix: $p, first: 10) { kind text objectId } }
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


def make_settings(data_dir: Path, engine: str, remote: str | None = None) -> Settings:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "ARCHIVIST_DATA_DIR": str(data_dir),
        "ARCHIVIST_DATABASE_URL": f"sqlite:///{data_dir / 'archivist.sqlite3'}",
        "ARCHIVIST_SEARCH_BACKEND": engine,
        "ARCHIVIST_REDIS_URL": os.environ.get(
            "ARCHIVIST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"
        ),
        "ARCHIVIST_SECRET_KEY": "bench-secret-key-0123456789",
    }
    if remote is not None:
        env["ARCHIVIST_XAPIAN_REMOTE"] = remote
    return load_settings(env)


@contextmanager
def index_server(folder: Path) -> Iterator[str]:
    """``xapian-tcpsrv --writable`` serving ``folder`` on a free local port: ``host:port``."""
    tcpsrv = shutil.which("xapian-tcpsrv")
    if tcpsrv is None:
        raise SystemExit("xapian-remote needs xapian-tcpsrv (apt-get install xapian-tools)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Its own session: on SIGTERM the server kills its process group.
    server = subprocess.Popen(
        [tcpsrv, "--writable", "--quiet", "--interface", "127.0.0.1", "--port", str(port),
         str(folder)],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            try:  # a real client: a bare probe makes the server log a broken pipe
                xapian.remote_open("127.0.0.1", port, 2000, 500).close()
                break
            except xapian.NetworkError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("xapian-tcpsrv did not start") from None
                time.sleep(0.02)
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def make_accounts(settings: Settings) -> tuple[Account, Account, dict[int, tuple[str, int]]]:
    """Create "reader" and "auditor" and a group for every corpus owner but the first.

    Returns them and the owner map: corpus owner number -> ("user" or "group", database id).
    Corpus owner 1 is "reader", who also belongs to the groups of owners 2-4 (so a typical
    viewer reads about 8% of the pages with four principals); "auditor" belongs to every
    group (49 principals beside their own, reading about 98% of the pages).
    """
    reader = create_user("reader", PASSWORD)
    auditor = create_user("auditor", PASSWORD)
    owners: dict[int, tuple[str, int]] = {1: ("user", reader.id)}
    for n in range(2, corpus.USERS + 1):
        group = Group.create(name=f"bench-owner-{n}")
        owners[n] = ("group", group.id)
        Membership.create(user=auditor, group=group)
        if n <= 4:
            Membership.create(user=reader, group=group)
    accounts = []
    for user in (reader, auditor):
        token, _row, _user = login(settings, user.username, PASSWORD)
        accounts.append(Account(viewer_for(User.get_by_id(user.id)), token))
    return accounts[0], accounts[1], owners


def words_json(text: str) -> str:
    """The page's words with made-up boxes (twelve words a line), as Page.words holds them."""
    rows = []
    for index, word in enumerate(text.split()):
        x0, y0 = 50 + (index % 12) * 42, 60 + (index // 12) * 14
        rows.append([word, x0, y0, x0 + 6 * len(word), y0 + 11, 0.97])
    return json.dumps(rows, separators=(",", ":"))


class Loader:
    """Writes the generated corpus into the database as the app keeps documents: a Node,
    Document (ready), first DocumentVersion and a finished Page (text and word boxes) each,
    with tags, types and folders, in chunks (bounded memory at any corpus size)."""

    def __init__(self, reader: User, owners: dict[int, tuple[str, int]]) -> None:
        self.owners = owners
        self.tags = {name: Tag.create(name=name, owner_user=reader).id for name in corpus.TAGS}
        self.types = {
            name: DocumentType.create(name=name, owner_user=reader).id
            for name in corpus.TYPES
            if name
        }
        self.folders: dict[tuple[str, ...], int] = {}
        for special, title in ((Node.HOME, "Home"), (Node.INBOX, "Inbox")):
            root = Node.get((Node.owner_user == reader) & (Node.special == special))
            self.folders[(title,)] = root.id
        for path in corpus.FOLDERS:
            for depth in range(2, len(path) + 1):
                if path[:depth] not in self.folders:
                    self.folders[path[:depth]] = Node.create(
                        kind=Node.FOLDER, title=path[depth - 1],
                        parent=self.folders[path[: depth - 1]], owner_user=reader,
                    ).id  # fmt: skip
        self.titles: set[int] = set()
        self.next_node = self._next_id(Node)
        self.next_version = self._next_id(DocumentVersion)
        self.next_page = self._next_id(Page)

    @staticmethod
    def _next_id(model: Any) -> int:
        return int(model.select(model.id).order_by(model.id.desc()).scalar() or 0) + 1

    def write(self, documents: list[list[PageRecord]]) -> list[int]:
        """Insert one chunk of generated documents; return their new ids."""
        nodes: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        pages: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        for records in documents:
            first = records[0]
            node_id, version_id = self.next_node, self.next_version
            self.next_node += 1
            self.next_version += 1
            kind, owner = self.owners[first.owner_id]
            created = first.created.replace(tzinfo=None)
            # Titles are unique within a folder, as the app numbers them ("Title (2)"); at a
            # million pages the generated ones repeat. Kept as hashes: about 10 MB then.
            title, number = first.title[:240], 1
            while hash((first.folder_path, title)) in self.titles:
                number += 1
                title = f"{first.title[:240]} ({number})"
            self.titles.add(hash((first.folder_path, title)))
            nodes.append({
                "id": node_id, "kind": Node.DOCUMENT, "title": title,
                "parent": self.folders[first.folder_path],
                "owner_user": owner if kind == "user" else None,
                "owner_group": owner if kind == "group" else None,
                "created_at": created, "updated_at": first.modified.replace(tzinfo=None),
            })  # fmt: skip
            rows.append({
                "node": node_id, "original_hash": f"{node_id:064x}",
                "original_name": f"{node_id}.pdf", "original_type": "application/pdf",
                "original_size": 1000, "ocr_languages": first.language, "ocr_mode": "auto",
                "ocr_engine": "easyocr", "status": Document.READY,
                "document_type": self.types.get(first.document_type or ""),
            })  # fmt: skip
            versions.append({
                "id": version_id, "document": node_id, "number": 1,
                "file_hash": f"{version_id:064x}", "base_hash": f"{version_id:064x}",
                "page_count": len(records), "created_at": created,
            })  # fmt: skip
            for record in records:
                pages.append({
                    "id": self.next_page, "version": version_id, "number": record.page_number,
                    "width": 612.0, "height": 792.0, "status": Page.DONE, "text": record.text,
                    "words": words_json(record.text), "language": record.language,
                    "source": "ocr",
                })  # fmt: skip
                self.next_page += 1
            tags += [{"node": node_id, "tag": self.tags[tag]} for tag in first.tags]
        with database.atomic():
            for model, batch in (
                (Node, nodes), (Document, rows), (DocumentVersion, versions), (Page, pages),
                (NodeTag, tags),
            ):  # fmt: skip
                for start in range(0, len(batch), 200):
                    model.insert_many(batch[start : start + 200]).execute()
        return [int(row["id"]) for row in nodes]


def load_corpus_rows(pages: int, reader: User, owners: dict[int, tuple[str, int]]) -> list[int]:
    """Generate ``pages`` corpus pages into the database; return the document ids."""
    loader = Loader(reader, owners)
    ids: list[int] = []
    chunk: list[list[PageRecord]] = []
    in_chunk = 0
    for _document_id, records in corpus.generate_corpus(pages):
        chunk.append(records)
        in_chunk += len(records)
        if in_chunk >= 2000:
            ids += loader.write(chunk)
            chunk, in_chunk = [], 0
            print(f"    {len(ids):>7} documents in the database", flush=True)
    if chunk:
        ids += loader.write(chunk)
    return ids


def build_index(
    settings: Settings, document_ids: list[int], batch_pages: int
) -> tuple[float, float]:
    """Index the documents through the index job's code path (``index_documents``: read the
    database, write the index, record the revision) in batches of about ``batch_pages``
    pages, as ``archivist index``/``reindex`` does; return the seconds spent, wall-clock
    and CPU (this process's)."""
    index = search_index(settings)
    batch = max(1, round(batch_pages / 3.5))  # the corpus averages 3.5 pages a document
    started, started_cpu = time.perf_counter(), time.process_time()
    done = 0
    for start in range(0, len(document_ids), batch):
        done += index_documents(index, document_ids[start : start + batch])
        if start // batch % 10 == 9:
            spent = time.perf_counter() - started
            print(f"    {done:>7} pages, {done / spent:,.0f} pages/s", flush=True)
    return time.perf_counter() - started, time.process_time() - started_cpu


def graphql_search(
    client: httpx2.Client, account: Account, query: str, document: str = SEARCH
) -> int:
    """POST the search; return totalCount (raises on errors or a non-200 answer)."""
    response = client.post(
        "/graphql",
        json={"query": document, "variables": {"q": query}},
        headers={"Authorization": f"Bearer {account.token}"},
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors for {query!r}: {body['errors']}")
    total: int = body["data"]["search"]["totalCount"]
    return total


Mix = list[tuple[str, str, Account]]


Timings = dict[str, list[float]]


def suggestion_mix(reader: Account, auditor: Account) -> Mix:
    """What a search box sends as someone types: prefixes of one to four letters, of common
    words, a rare word, a tag name, one that completes nothing, and one for the long principal
    list."""
    rare = corpus.make_vocabulary()[2_000]
    return [
        ("1 letter", "p", reader),
        ("2 letters", "pa", reader),
        ("3 letters", "pay", reader),
        ("4 letters, rare", rare[:4], reader),
        ("tag name", "ta", reader),
        ("after a word", "invoice to", reader),
        ("nothing", "qxz", reader),
        ("70 readers", "in", auditor),
    ]


def graphql_suggest(client: httpx2.Client, account: Account, prefix: str) -> int:
    """POST searchSuggestions; return how many came back (raises on errors)."""
    response = client.post(
        "/graphql",
        json={"query": SUGGEST, "variables": {"p": prefix}},
        headers={"Authorization": f"Bearer {account.token}"},
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"GraphQL errors for {prefix!r}: {body['errors']}")
    return len(body["data"]["searchSuggestions"])


def time_mix(mix: Mix, rounds: int, call: Callable[[str, Account], int]) -> tuple[Timings, Timings]:
    """Run ``mix`` once to warm up, then ``rounds`` times; milliseconds per query name, as
    wall-clock time and as this process's CPU time (the server's and the client's threads
    together: on a busy shared machine it shows what a quiet one would take, since waiting
    for a core does not count)."""
    for _name, query, account in mix:
        call(query, account)
    wall: Timings = {name: [] for name, _, _ in mix}
    cpu: Timings = {name: [] for name, _, _ in mix}
    for _ in range(rounds):
        for name, query, account in mix:
            started, started_cpu = time.perf_counter(), time.process_time()
            call(query, account)
            wall[name].append((time.perf_counter() - started) * 1000)
            cpu[name].append((time.process_time() - started_cpu) * 1000)
    return wall, cpu


def flat(timings: Timings) -> list[float]:
    return [value for values in timings.values() for value in values]


def quantiles(values: list[float]) -> str:
    return " ".join(f"{corpus.percentile(values, q):>7.2f}" for q in (0.5, 0.95, 0.99))


def rss_mb() -> float:
    """This process's resident memory now (MB; 0 where /proc is missing)."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def reuse_accounts(settings: Settings) -> tuple[Account, Account]:
    """The bench users "reader" and "auditor" of a kept bench folder, with new tokens."""
    accounts = []
    for name in ("reader", "auditor"):
        token, _row, user = login(settings, name, PASSWORD)
        accounts.append(Account(viewer_for(User.get_by_id(user.id)), token))
    return accounts[0], accounts[1]


def bench(
    engine: str, pages: int, rounds: int, batch_pages: int, facets: tuple[bool, ...] = (False,),
    keep: Path | None = None,
) -> str:  # fmt: skip
    """Build, index and measure one engine at one size; print as it goes; return the row.

    With ``keep``: the data folder is ``keep/<engine>-<pages>`` and stays after the run; when
    it already holds a finished build (``built.json``), that is measured again instead of
    building anew (its indexing figures are the build's)."""
    if keep is not None:
        folder = keep / f"{engine}-{pages}"
        if engine == "xapian-remote":
            raise SystemExit("--keep does not take xapian-remote")
    else:
        folder = Path(tempfile.mkdtemp(prefix=f"bench-search-{engine}-"))
    built = folder / "built.json"
    if keep is not None and not built.exists():
        shutil.rmtree(folder, ignore_errors=True)  # an unfinished build
    served = folder / "index-host"  # the folder xapian-tcpsrv serves (xapian-remote)
    stack = ExitStack()
    try:
        if engine == "xapian-remote":
            settings = make_settings(folder / "data", "xapian", stack.enter_context(
                index_server(served)))  # fmt: skip
        else:
            settings = make_settings(folder / "data", engine)
        db = configure_database(settings.database_url)
        if built.exists():
            seconds, cpu_seconds = json.loads(built.read_text())["seconds"]
            print(f"{engine}, {pages} pages: measuring the build kept in {folder}", flush=True)
            with db.connection_context():
                migrate(db)
                reader, auditor = reuse_accounts(settings)
        else:
            with db.connection_context():
                migrate(db)
                reader, auditor, owners = make_accounts(settings)
                print(f"{engine}, {pages} pages: writing the database…", flush=True)
                started = time.perf_counter()
                ids = load_corpus_rows(pages, User.get_by_id(reader.viewer.id), owners)
                print(f"  database written in {time.perf_counter() - started:.0f} s", flush=True)
                print(f"{engine}, {pages} pages: indexing…", flush=True)
                seconds, cpu_seconds = build_index(settings, ids, batch_pages)
                del ids
            if keep is not None:
                built.write_text(json.dumps({"seconds": [seconds, cpu_seconds]}))
        size = corpus.folder_size(served if settings.xapian_remote else settings.index_dir) / 1e6
        print(
            f"  indexed in {seconds:.1f} s ({pages / seconds:,.0f} pages/s;"
            f" {pages / cpu_seconds:,.0f} pages per CPU second), {size:.1f} MB",
            flush=True,
        )
        # The typical principals of the mix are the reader's; the long list the auditor's.
        mix: Mix = [
            (name, query, auditor if len(principals) > len(reader.viewer.principals) else reader)
            for name, query, principals in corpus.query_mix()
        ]
        # A handle of its own, like the one each of the resolver's threads opens.
        index: SearchIndex = open_index(
            settings.search_backend, settings.index_dir, remote=settings.xapian_remote
        )

        rows = []
        with (
            BackgroundServer(create_app(settings)) as server,
            httpx2.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as client,
        ):
            for counted in facets:
                label = f"{engine}+facets" if counted else engine
                print(f"  {label}: {'with' if counted else 'without'} facets", flush=True)
                rows.append(
                    measure(
                        label,
                        pages,
                        seconds,
                        size,
                        index,
                        client,
                        mix,
                        rounds,
                        counted,
                        settings.search_exact_count,
                    )
                )

            def complete(prefix: str, account: Account) -> int:
                found = index.complete(prefix, principals=account.viewer.principals)
                return len(found)

            def suggest(prefix: str, account: Account) -> int:
                return graphql_suggest(client, account, prefix)

            suggestions = suggestion_mix(reader, auditor)
            for name, prefix, account in suggestions:
                print(f"  suggest {name:<16} {complete(prefix, account):>3} words engine,"
                      f" {suggest(prefix, account):>3} suggestions API")  # fmt: skip
            complete_times, complete_cpu = time_mix(suggestions, rounds, complete)
            suggest_times, suggest_cpu = time_mix(suggestions, rounds, suggest)
        index.close()
        suggested = (
            f"{'  suggestions ms':<42}  {quantiles(flat(complete_times))}"
            f"  {quantiles(flat(suggest_times))}\n"
            f"{'  suggestions CPU ms':<42}  {quantiles(flat(complete_cpu))}"
            f"  {quantiles(flat(suggest_cpu))}"
        )
        for name in complete_times:
            medians = [corpus.percentile(t[name], 0.5) for t in (complete_times, suggest_times)]
            print(f"  suggest {name:<16} median {medians[0]:>7.2f} engine {medians[1]:>7.2f} API")
        print(f"  searchSuggestions ms: engine (index.complete) / GraphQL p50/p95/p99"
              f"\n{suggested}", flush=True)  # fmt: skip
        return "\n".join([*rows, suggested])
    finally:
        # The resolver's handle is cached per process; close it before its folder goes.
        handles = core_search._handles.indexes
        for key in list(handles):
            handles.pop(key).close()
        if not database.is_closed():
            database.close()
        stack.close()
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def measure(
    label: str, pages: int, seconds: float, size: float, index: SearchIndex,
    client: httpx2.Client, mix: Mix, rounds: int, facets: bool, exact_up_to: int,
) -> str:  # fmt: skip
    """Time the mix through the engine and GraphQL, asking for facets or not; print and
    return the table row."""

    def raw(query: str, account: Account) -> int:
        # As the resolver calls it for the bench's GraphQL query.
        return index.search(
            query, principals=account.viewer.principals, limit=LIMIT, tag_facets=facets,
            exact_up_to=exact_up_to,
        ).total  # fmt: skip

    def api(query: str, account: Account) -> int:
        return graphql_search(client, account, query, SEARCH_WITH_FACETS if facets else SEARCH)

    for name, query, account in mix:
        engine_total, api_total = raw(query, account), api(query, account)
        note = "" if engine_total == api_total else "  MISMATCH"
        print(f"  {name:<18} {engine_total:>7} hits engine, {api_total:>7} API{note}")
    raw_times, raw_cpu = time_mix(mix, rounds, raw)
    api_times, api_cpu = time_mix(mix, rounds, api)
    rss = rss_mb()
    print(f"  {'median ms':<18} {'engine':>8} {'API':>8} {'CPU engine':>11} {'CPU API':>8}")
    for name in raw_times:
        medians = [
            corpus.percentile(timings[name], 0.5)
            for timings in (raw_times, api_times, raw_cpu, api_cpu)
        ]
        print(
            f"  {name:<18} {medians[0]:>8.2f} {medians[1]:>8.2f} {medians[2]:>11.2f}"
            f" {medians[3]:>8.2f}",
            flush=True,
        )
    all_raw, all_api = flat(raw_times), flat(api_times)
    cpu = f"  {quantiles(flat(raw_cpu))}  {quantiles(flat(api_cpu))}"
    row = (
        f"{label:<13} {pages:>7} {pages / seconds:>8,.0f} {size:>8.1f} {rss:>7.0f}"
        f"  {quantiles(all_raw)}  {quantiles(all_api)}"
    )
    print(HEADER + "\n" + row, flush=True)
    print(f"  CPU ms: engine p50/p95/p99 {cpu[2:]}  (GraphQL: server and client)", flush=True)
    return row + "\n" + f"{'  CPU ms':<42}{cpu}"


HEADER = (
    f"{'engine':<13} {'pages':>7} {'pages/s':>8} {'size MB':>8} {'RSS MB':>7}"
    f"  {'engine p50 / p95 / p99 ms':>23}  {'GraphQL p50 / p95 / p99 ms':>23}"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[10_000])
    parser.add_argument("--engines", nargs="+", default=["xapian", "whoosh"])
    parser.add_argument("--rounds", type=int, default=30, help="times the query mix runs")
    parser.add_argument(
        "--batch-pages", type=int, default=1000, help="about this many pages per index write"
    )
    parser.add_argument(
        "--facets", choices=("off", "on", "both"), default="off",
        help="ask for tag facets too (every match is then counted, totals exact); both:"
        " measure without and with them on the same index",
    )  # fmt: skip
    parser.add_argument(
        "--keep", type=Path, metavar="FOLDER",
        help="build each size and engine in FOLDER/<engine>-<pages> and keep it; a finished"
        " build found there is measured again instead of built (search changes, same index)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    rows = []
    started = time.monotonic()
    for pages in args.pages:
        for engine in args.engines:
            modes = {"off": (False,), "on": (True,), "both": (False, True)}[args.facets]
            rows.append(bench(engine, pages, args.rounds, args.batch_pages, modes, args.keep))
    print(f"\n{len(corpus.query_mix())} queries x {args.rounds} rounds per side", flush=True)
    print(HEADER + "\n" + "\n".join(rows))
    print(f"total {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
