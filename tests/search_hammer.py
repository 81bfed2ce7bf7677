"""Many threads searching and indexing one index at once, as the API and a worker do.

Run as a script (``python search_hammer.py ENGINE DATA_DIR SECONDS``) by
tests/test_search_concurrency.py, in a child process: a crash inside the engine's C++ code
kills that process, and the test then reports it instead of dying with it. Prints one JSON
line: how many searches and writes ran, and every error and wrong answer seen.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from archivist.core.search import search_index
from archivist.core.settings import load_settings
from archivist.indexes import PageRecord

DOCUMENTS = 40
SEARCHERS = 16
WRITERS = 2


def record(document_id: int, version: int) -> PageRecord:
    owner = 1 + document_id % 2
    return PageRecord(
        document_id=document_id, version_id=version, page_number=1, title=f"title{document_id}",
        tags=(f"tag{document_id % 3}",), folder_path=("Home",), document_type=None,
        language="en", owner_id=owner, readers=(f"user:{owner}",),
        created=datetime(2024, 1, 1), modified=datetime(2024, 1, 1),
        text=f"common invoices word{document_id} " + "filler text " * 50,
    )  # fmt: skip


def main(engine: str, data_dir: str, seconds: float) -> None:
    settings = load_settings(
        {
            "ARCHIVIST_DATA_DIR": data_dir,
            "ARCHIVIST_DATABASE_URL": f"sqlite:///{Path(data_dir) / 'unused.sqlite3'}",
            "ARCHIVIST_SECRET_KEY": "test-secret-key-0123456789",
            "ARCHIVIST_SEARCH_BACKEND": engine,
        }
    )
    search_index(settings).replace_documents({d: [record(d, 1)] for d in range(1, DOCUMENTS + 1)})
    problems: list[str] = []
    counts = {"searches": 0, "writes": 0}
    deadline = time.monotonic() + seconds

    def searcher(seed: int) -> None:
        chance = random.Random(seed)
        while time.monotonic() < deadline:
            document_id = chance.randint(1, DOCUMENTS)
            owner = 1 + document_id % 2
            try:
                index = search_index(settings)  # what the resolver does, in its own thread
                found = index.search(f"word{document_id}", principals=[f"user:{owner}"])
                ids = [hit.document_id for hit in found.hits]
                if found.total != 1 or ids != [document_id]:
                    problems.append(f"word{document_id}: total {found.total}, ids {ids}")
                every = index.search("invoice", principals=[f"user:{owner}"], limit=100)
                if every.total != DOCUMENTS // 2 or len(every.hits) != DOCUMENTS // 2:
                    problems.append(f"invoice: total {every.total}, {len(every.hits)} hits")
            except Exception as error:  # every failure is a finding, reported by kind
                problems.append(f"{type(error).__name__}: {error}")
            counts["searches"] += 2

    def writer(seed: int) -> None:
        chance = random.Random(seed)
        version = 1
        while time.monotonic() < deadline:
            version += 1
            document_id = chance.randint(1, DOCUMENTS)
            try:
                search_index(settings).replace_document(document_id, [record(document_id, version)])
            except Exception as error:
                problems.append(f"write {type(error).__name__}: {error}")
            counts["writes"] += 1

    threads = [threading.Thread(target=searcher, args=(n,)) for n in range(SEARCHERS)]
    threads += [threading.Thread(target=writer, args=(100 + n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({**counts, "problems": problems[:20], "problem_count": len(problems)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
