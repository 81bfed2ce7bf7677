#!/usr/bin/env python3
"""Benchmark indexing through the index job's code path: bulk batches and queued jobs.

Run: ``.venv/bin/python scripts/bench/indexing.py [--pages 10000] [--engine xapian]
[--batch-pages 1000] [--single 300]``

It writes the generated corpus of ``scripts/bench/search.py`` into a temporary SQLite
database (as that script does) and indexes it three ways, printing pages per second
(wall-clock, and per CPU second of this process: on a busy shared machine the second says what
a quiet one would do):

- ``bulk``: ``index_documents`` in batches of about ``--batch-pages`` pages, as
  ``archivist index`` and ``scripts/bench/search.py`` do;
- ``queued jobs``: every document owes index work (as after a bulk upload or a change to many
  documents) and the index job runs once per document, in order, as a worker drains the
  queue: each job takes other owed documents along, and the jobs whose documents came along
  end at once;
- ``one per job``: the first ``--single`` documents, each job writing its own document
  alone (what every job did before jobs took owed documents along).

Needs Redis only for the app's broadcaster: ``ARCHIVIST_BENCH_REDIS_URL``.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules: scripts are not a package

from project_venv import reexec_in_venv  # noqa: E402

if __name__ == "__main__":
    reexec_in_venv()

from archivist.core import search as core_search  # noqa: E402
from archivist.core.db import configure_database, database  # noqa: E402
from archivist.core.index_state import mark_for_index  # noqa: E402
from archivist.core.migrations import migrate  # noqa: E402
from archivist.core.models import Page, User  # noqa: E402
from archivist.core.search import index_documents, search_index  # noqa: E402
from archivist.core.settings import use_settings  # noqa: E402
from archivist.jobs.indexing import index_document  # noqa: E402


def load_search_bench() -> ModuleType:
    """``scripts/bench/search.py`` (its corpus and database loader), loaded by path."""
    spec = importlib.util.spec_from_file_location("search_bench", HERE / "search.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def timed(run: Callable[[], int]) -> tuple[int, float, float]:
    """(pages written, wall seconds, CPU seconds) of ``run``."""
    started, started_cpu = time.perf_counter(), time.process_time()
    pages = run()
    return pages, time.perf_counter() - started, time.process_time() - started_cpu


def mark_all(ids: list[int]) -> None:
    with database.atomic():
        for start in range(0, len(ids), 500):
            mark_for_index(ids[start : start + 500])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--engine", default="xapian", choices=["xapian", "whoosh"])
    parser.add_argument("--batch-pages", type=int, default=1000)
    parser.add_argument("--single", type=int, default=300, help="documents for 'one per job'")
    args = parser.parse_args(argv)
    bench: Any = load_search_bench()
    folder = Path(tempfile.mkdtemp(prefix="bench-indexing-"))
    rows: list[tuple[str, int, float, float]] = []
    try:
        settings = bench.make_settings(folder / "data", args.engine)
        use_settings(settings)  # the job reads the process's settings, as in a worker
        db = configure_database(settings.database_url)
        with db.connection_context():
            migrate(db)
            reader, _auditor, owners = bench.make_accounts(settings)
            ids = bench.load_corpus_rows(args.pages, User.get_by_id(reader.viewer.id), owners)
            index = search_index(settings)
            batch = max(1, round(args.batch_pages / 3.5))  # 3.5 pages a document on average

            def bulk() -> int:
                return sum(
                    index_documents(index, ids[start : start + batch])
                    for start in range(0, len(ids), batch)
                )

            rows.append(("bulk", *timed(bulk)))

            def queued() -> int:
                return sum(index_document(document_id, owed_only=True) for document_id in ids)

            index.clear()
            mark_all(ids)
            rows.append(("queued jobs", *timed(queued)))

            single = ids[: args.single]

            def one_each() -> int:
                return sum(index_document(document_id) for document_id in single)

            index.clear()
            rows.append(("one per job", *timed(one_each)))
            total = Page.select().count()
        print(f"\n{args.engine}, {len(ids)} documents, {total} pages in the database")
        print(f"{'path':<14} {'pages':>7} {'seconds':>8} {'pages/s':>8} {'pages/CPU s':>12}")
        for name, pages, wall, cpu in rows:
            print(f"{name:<14} {pages:>7} {wall:>8.1f} {pages / wall:>8,.0f} {pages / cpu:>12,.0f}")
    finally:
        handles = core_search._handles.indexes
        for key in list(handles):
            handles.pop(key).close()
        if not database.is_closed():
            database.close()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
