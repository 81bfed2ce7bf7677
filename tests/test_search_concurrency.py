"""Many threads searching, listing and indexing at once: right answers, no crash.

Each index handle (a Xapian ``Database``, a Whoosh searcher, a ``xapian.Stem``) is used by one
thread at a time. Before that, a few concurrent searches crashed the API process (segfault in
libxapian, ``DatabaseCorruptError``, ``basic_string::append``, Whoosh's ``ReaderClosed``), so
the engine-level run happens in a child process whose death the test reports.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from support import REPO, graphql, login, make_document

from archivist.core.db import database
from archivist.core.models import Node
from archivist.core.search import page_records, search_index
from archivist.core.settings import Settings

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("engine", ["xapian", "whoosh"])
def test_threads_search_and_index_one_index_at_once(engine: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "tests" / "search_hammer.py"), engine, str(tmp_path), "4"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, (
        f"the searching process died ({run.returncode}): {run.stderr[-2000:]}"
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["problems"] == [], f"{report['problem_count']} problems: {report['problems']}"
    assert report["searches"] >= 100 and report["writes"] >= 2, report


SEARCH = """query S($q: String!) {
  search(query: $q, first: 50) { totalCount edges { node { document { id title } } } }
}"""
LISTING = "{ me { home { children(first: 100) { totalCount edges { node { title } } } } } }"
ALIASES = 30
FILLER = " ".join(f"entry{n} amount{n % 7} invoices" for n in range(300))


def _aliased_search(word: str) -> str:
    fields = " ".join(f'a{n}: search(query: "{word}") {{ totalCount }}' for n in range(ALIASES))
    return "{ " + fields + " }"


def test_concurrent_searches_listings_and_aliases_through_the_api(
    live_server: str, make_user: Any, settings: Settings
) -> None:
    """32 clients search and list folders while a writer reindexes: every answer is right."""
    alice, bob = make_user("alice"), make_user("bob")
    with database.connection_context():
        homes = {
            user.id: Node.get((Node.owner_user == user.id) & (Node.special == Node.HOME)).id
            for user in (alice, bob)
        }
        mine = {
            n: make_document(
                homes[alice.id], alice.id, f"alice{n}", [f"alpha word{n} ledger " + FILLER]
            )
            for n in range(12)
        }
        theirs = [
            make_document(homes[bob.id], bob.id, f"bob{n}", [f"alpha other{n} ledger " + FILLER])
            for n in range(8)
        ]
        search_index(settings).replace_documents(
            {doc: page_records(doc) for doc in [*mine.values(), *theirs]}
        )
    problems: list[str] = []
    counts = {"search": 0, "listing": 0, "aliases": 0, "writes": 0}
    with httpx.Client(base_url=live_server, timeout=60) as http:
        tokens = {"alice": login(http, "alice"), "bob": login(http, "bob")}  # type: ignore[arg-type]
    deadline = time.monotonic() + 6

    def ask(http: httpx.Client, query: str, variables: Any, token: str) -> dict[str, Any]:
        body = graphql(http, query, variables, token)  # type: ignore[arg-type]
        if body.get("errors") or body.get("data") is None:
            raise AssertionError(f"error answer: {str(body)[:800]}")
        return body

    def client(seed: int) -> None:
        chance = random.Random(seed)
        with httpx.Client(base_url=live_server, timeout=60) as http:
            while time.monotonic() < deadline:
                choice = chance.random()
                try:
                    if choice < 0.35:
                        n = chance.randrange(12)
                        body = ask(http, SEARCH, {"q": f"word{n}"}, tokens["alice"])
                        found = body["data"]["search"]
                        titles = [e["node"]["document"]["title"] for e in found["edges"]]
                        if (found["totalCount"], titles) != (1, [f"alice{n}"]):
                            problems.append(f"word{n}: {body}")
                        counts["search"] += 1
                    elif choice < 0.6:
                        who = chance.choice(["alice", "bob"])
                        body = ask(http, LISTING, None, tokens[who])
                        children = body["data"]["me"]["home"]["children"]
                        expected = 12 if who == "alice" else 8
                        if children["totalCount"] != expected or not all(
                            e["node"]["title"].startswith(who) for e in children["edges"]
                        ):
                            problems.append(f"listing {who}: {body}")
                        counts["listing"] += 1
                    else:
                        body = ask(http, _aliased_search("alpha"), None, tokens["bob"])
                        totals = {value["totalCount"] for value in body["data"].values()}
                        if totals != {8} or len(body["data"]) != ALIASES:
                            problems.append(f"aliases: {str(body)[:500]}")
                        counts["aliases"] += 1
                except Exception as error:  # a dead server, a 500, an error body: all findings
                    problems.append(f"{type(error).__name__}: {error}")

    def writer() -> None:
        # A worker's index job, concurrently: each write rewrites one of alice's documents.
        with database.connection_context():
            while time.monotonic() < deadline:
                document_id = random.choice(list(mine.values()))
                search_index(settings).replace_document(document_id, page_records(document_id))
                counts["writes"] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(32)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert problems == [], f"{len(problems)} problems, first: {problems[:5]}"
    assert httpx.get(f"{live_server}/health", timeout=10).status_code == 200
    assert min(counts["search"], counts["listing"], counts["aliases"]) >= 3, counts
