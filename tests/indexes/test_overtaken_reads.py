"""A Xapian read that writers keep overtaking still gets its answer.

Glass recycles a revision's blocks two commits later, so a reader slower than a writer
committing in a loop fails with ``DatabaseModifiedError`` on every lock-free try (seen in the
API under 32 clients and a reindexing worker on 2 cores: an "Internal server error" for a
search). The last try holds the index's write lock shared, so writers wait for it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import xapian

from archivist.indexes import IndexLockTimeout, open_index
from archivist.indexes.locking import read_lock, write_lock
from archivist.indexes.xapian_index import XapianIndex

DOCUMENTS = 40


def _revision(path: Path) -> int:
    database = xapian.Database(str(path))
    try:
        return int(database.get_revision())
    finally:
        database.close()


def test_a_read_overtaken_on_every_free_try_succeeds_on_its_last(tmp_path: Path, make_page) -> None:
    path = tmp_path / "index"
    index = open_index("xapian", path)
    assert isinstance(index, XapianIndex)
    words = " ".join(f"word{n}" for n in range(400))
    index.replace_documents(
        {d: [make_page(d, 1, f"ledger {words} doc{d}")] for d in range(1, DOCUMENTS + 1)}
    )
    stop = threading.Event()
    commits = [0]

    def writer() -> None:  # a worker's index job rewriting documents in a loop
        with open_index("xapian", path) as own:
            n = 0
            while not stop.is_set():
                n += 1
                document_id = n % DOCUMENTS + 1
                own.replace_document(
                    document_id, [make_page(document_id, 1, f"ledger {words} doc{n}")]
                )
                commits[0] += 1

    tries: list[str] = []

    def slow_read() -> list[bytes]:
        # Read the revision's first half, let writers commit three times (or wait out 0.5 s
        # when they cannot), then read all of it: blocks the writers recycled fail.
        database = index._fresh()
        start = database.get_revision()
        data = [database.get_document(database.get_lastdocid()).get_data()]
        deadline = time.monotonic() + 0.5
        while _revision(path) < start + 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        overtaken = _revision(path) >= start + 3
        try:
            for item in database.postlist(""):
                data.append(database.get_document(item.docid).get_data())
        except xapian.DatabaseModifiedError:
            tries.append("modified")
            raise
        tries.append("overtaken" if overtaken else "kept")
        return data

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while commits[0] < 3:  # the writer runs
            time.sleep(0.01)
        data = index._reading(slow_read)
    finally:
        stop.set()
        thread.join(30)
    assert len(data) == DOCUMENTS + 1
    # The free tries were overtaken (and failed); the last held the writers back.
    assert tries[:-1] == ["modified"] * (XapianIndex.READ_TRIES - 1), tries
    assert tries[-1] == "kept", tries
    index.close()


def test_shared_holders_keep_writers_out_not_each_other(tmp_path: Path) -> None:
    path = tmp_path / "index"
    with (
        read_lock(path),
        read_lock(path, timeout=0.2),
        pytest.raises(IndexLockTimeout),
        write_lock(path, timeout=0.2),
    ):
        pass
    outcome: list[Any] = []
    with write_lock(path):  # a writer keeps a shared taker waiting
        taker = threading.Thread(target=_take_shared, args=(path, outcome))
        taker.start()
        time.sleep(0.3)
        assert outcome == []
    taker.join(10)
    assert outcome == ["taken"]


def _take_shared(path: Path, outcome: list[Any]) -> None:
    with read_lock(path, timeout=10):
        outcome.append("taken")


def test_a_writer_in_a_loop_lets_a_waiting_reader_in(tmp_path: Path) -> None:
    """The write lock is free only between two of a looping writer's commits: a reader
    polling for it would rarely see that; the turnstile holds the next commit back."""
    path = tmp_path / "index"
    stop = threading.Event()
    commits = [0]

    def writer() -> None:
        while not stop.is_set():
            with write_lock(path, timeout=10):
                commits[0] += 1
                time.sleep(0.01)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while commits[0] < 3:
            time.sleep(0.01)
        started = time.monotonic()
        with read_lock(path, timeout=5):
            held = commits[0]
            time.sleep(0.1)
            assert commits[0] == held  # no commit while the reader holds it
        waited = time.monotonic() - started
    finally:
        stop.set()
        thread.join(30)
    assert waited < 5
    assert commits[0] > held  # the writer went on afterwards
