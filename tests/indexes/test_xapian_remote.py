"""Xapian's remote backend: one index that ``xapian-tcpsrv`` serves to readers and writers on
other hosts. The contract suite runs against it too (engine "xapian-remote"); these tests hold
what is its own: the server's one writer, dropped and restarted connections, an index host
that is down."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import xapian
from support import free_port
from xapian_server import start_tcpsrv, stop_tcpsrv, xapian_server

from archivist.indexes import (
    IndexLockTimeout,
    IndexUnavailable,
    PageRecord,
    RemoteXapianIndex,
    open_index,
)
from archivist.indexes.xapian_index import _document, sort_key
from archivist.indexes.xapian_remote import parse_address

MakePage = Callable[..., PageRecord]
USER = ["user:1"]


def test_addresses() -> None:
    assert parse_address("index.internal:8100") == ("index.internal", 8100)
    assert parse_address("[::1]:8100") == ("::1", 8100)
    for bad in ("index.internal", ":8100", "host:0", "host:http", "host:70000"):
        with pytest.raises(ValueError, match="host:port"):
            parse_address(bad)
    with pytest.raises(ValueError, match="needs the xapian backend"):
        open_index("whoosh", "unused", remote="127.0.0.1:8100")


def test_stored_sort_keys_are_the_key_makers(make_page: MakePage) -> None:
    """A remote index sorts by keys stored at write time: they must be the very keys the
    local index's MultiValueKeyMaker builds, for every order and direction."""
    titles = ["", "Ab", "Abc", "a\0b", "Zebra", "Ärger"]
    for number, title in enumerate(titles, start=1):
        document = _document(make_page(number, number * 3, "x", title=title))
        for slot, descending in ((4, False), (4, True), (1, True), (2, False)):
            maker = xapian.MultiValueKeyMaker()
            maker.add_value(slot, descending)
            maker.add_value(5)
            maker.add_value(6)
            keys = ((document.get_value(slot), descending), (document.get_value(5), False))
            assert sort_key(keys, document.get_value(6)) == maker(document)


def test_writers_on_two_connections_take_turns(tmp_path: Path, make_page: MakePage) -> None:
    """The server lets one connection write; a second writer waits (retrying) for it."""
    with xapian_server(tmp_path / "index") as address:
        holder = RemoteXapianIndex(address)
        waiter = RemoteXapianIndex(address, lock_timeout=10)
        done = threading.Event()

        def write() -> None:
            waiter.replace_document(2, [make_page(2, 1, "second writer")])
            done.set()

        with holder.job_lock():
            thread = threading.Thread(target=write)
            thread.start()
            time.sleep(0.5)
            assert not done.is_set()  # waiting for the holder's connection
            holder.replace_document(1, [make_page(1, 1, "first writer")])
        thread.join(10)
        assert done.is_set()
        with RemoteXapianIndex(address) as reader:
            assert reader.document_versions() == {1: 101, 2: 201}
        with pytest.raises(IndexLockTimeout, match="write lock"), holder.job_lock():
            RemoteXapianIndex(address, lock_timeout=0.3).replace_document(1, [])


def _hold_the_lock_then_hang(address: str, make_page: MakePage) -> None:
    index = RemoteXapianIndex(address)
    with index.job_lock():
        index.replace_document(9, [make_page(9, 1, "from a writer that dies")])
        time.sleep(60)


def test_a_writer_that_dies_releases_the_lock(tmp_path: Path, make_page: MakePage) -> None:
    """A killed writer's connection closes, the server's child ends, the lock goes with it;
    what it did not commit (its job's writes are committed one write at a time) is kept."""
    with xapian_server(tmp_path / "index") as address:
        context = multiprocessing.get_context("fork")
        process = context.Process(target=_hold_the_lock_then_hang, args=(address, make_page))
        process.start()
        index = RemoteXapianIndex(address, lock_timeout=30)
        deadline = time.monotonic() + 30
        while index.page_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert index.page_count() == 1 and process.pid is not None
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        started = time.monotonic()
        index.replace_document(1, [make_page(1, 1, "after the death")])
        assert time.monotonic() - started < 10
        assert index.document_versions() == {1: 101, 9: 901}


def test_readers_reconnect_after_idle_and_restart(tmp_path: Path, make_page: MakePage) -> None:
    folder, port = tmp_path / "index", free_port()
    server = start_tcpsrv(folder, port, idle_timeout_ms=300)
    try:
        with RemoteXapianIndex(f"127.0.0.1:{port}") as index:
            index.replace_document(1, [make_page(1, 1, "kept across restarts")])
            assert index.search("kept", principals=USER).total == 1
            time.sleep(0.6)  # the server drops the idle connection
            assert index.search("kept", principals=USER).total == 1
            stop_tcpsrv(server)
            server = start_tcpsrv(folder, port, idle_timeout_ms=300)
            assert index.search("restarts", principals=USER).total == 1
            assert index.page_count() == 1
    finally:
        stop_tcpsrv(server)


def test_an_index_host_that_is_down_says_so(tmp_path: Path, make_page: MakePage) -> None:
    folder, port = tmp_path / "index", free_port()
    index = RemoteXapianIndex(f"127.0.0.1:{port}", timeout=2)  # connects to nothing yet
    with pytest.raises(IndexUnavailable, match=f"127.0.0.1:{port} cannot be reached"):
        index.search("anything", principals=USER)
    with pytest.raises(IndexUnavailable):
        index.replace_document(1, [make_page(1, 1, "lost?")])
    server = start_tcpsrv(folder, port)
    try:
        index.replace_document(1, [make_page(1, 1, "written once it is back")])
        assert index.search("written", principals=USER).total == 1
        stop_tcpsrv(server)
        with pytest.raises(IndexUnavailable):
            index.search("written", principals=USER)
        with pytest.raises(IndexUnavailable), index.job_lock():
            pass
    finally:
        stop_tcpsrv(server)
    index.close()


def test_clear_removes_every_page(tmp_path: Path, make_page: MakePage) -> None:
    with xapian_server(tmp_path / "index") as address, RemoteXapianIndex(address) as index:
        index.replace_documents({n: [make_page(n, 1, "page"), make_page(n, 2, "page")]
                                 for n in range(1, 6)})  # fmt: skip
        assert index.page_count() == 10
        index.clear()
        assert index.page_count() == 0 and index.document_versions() == {}
