"""A Xapian index on another machine, served by ``xapian-tcpsrv`` (Debian's ``xapian-tools``).

Several API and worker hosts then search and write one index without sharing its folder: the
index host runs ``xapian-tcpsrv --writable --port PORT FOLDER`` and every other host opens it
with ``xapian.remote_open`` (reads) and ``xapian.remote_open_writable`` (writes).

Writers across hosts: the server lets one connection at a time hold the database writable; a
second ``remote_open_writable`` fails at once with ``DatabaseLockError``. A writer retries with
back-off up to the lock timeout, so the server's lock is the one write lock every host shares
(a local lock file would serialise only one host's writers). An index job holds that writable
connection for its whole read, write and record (:meth:`RemoteXapianIndex.job_lock`), as the
local index holds its job lock file. A writer whose host dies holds nothing for long: the
server drops a connection idle for its ``--idle-timeout`` and with it the lock.

Readers: a remote reader is re-opened after ``DatabaseModifiedError`` (the revision it read was
recycled), ``NetworkError`` (the server dropped an idle connection, or restarted) and
``DatabaseCorruptError`` (the server read a recycled block), as the local one is. A server that
does not answer a new connection makes the read raise :class:`IndexUnavailable`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, ClassVar, TypeVar

import xapian

from archivist.indexes.base import IndexUnavailable, Scope
from archivist.indexes.locking import DEFAULT_LOCK_TIMEOUT, IndexLockTimeout
from archivist.indexes.records import PageRecord
from archivist.indexes.xapian_index import XapianEngine, order_key_slot

T = TypeVar("T")

DEFAULT_REMOTE_TIMEOUT = 10.0  # seconds one network operation may take
# A write (a commit of a large batch) may take longer than a read; a dead link still ends it.
WRITE_TIMEOUT_FACTOR = 6


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6 address]:port`` for IPv6) as (host, port).

    Raises ``ValueError`` naming what is wrong."""
    host, colon, port = address.strip().rpartition(":")
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected host:port (e.g. index.internal:8100), got {address!r}")
    return host, int(port)


class RemoteXapianIndex(XapianEngine):
    """A :class:`SearchIndex` whose Xapian database ``xapian-tcpsrv --writable`` serves at
    ``address`` (``host:port``). See the module's docstring for how writers and readers meet.

    Not thread-safe: one object per thread. Opening connects to nothing: the first read or
    write does, so a host starts while the index host is down.
    """

    RETRYABLE: ClassVar[tuple[type[Exception], ...]] = (
        xapian.DatabaseModifiedError,
        xapian.DatabaseCorruptError,
        xapian.NetworkError,
    )
    # Each hit's data is a round trip: two commits during a read are likelier than locally.
    READ_TRIES: ClassVar[int] = 12

    def __init__(
        self,
        address: str,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        timeout: float = DEFAULT_REMOTE_TIMEOUT,
    ) -> None:
        self.host, self.port = parse_address(address)
        super().__init__(f"{self.host}:{self.port}", lock_timeout=lock_timeout)
        self.timeout = timeout
        self._held: Any = None  # the writable connection an index job holds

    def _open_reader(self) -> Any:
        milliseconds = int(self.timeout * 1000)
        try:
            return xapian.remote_open(self.host, self.port, milliseconds, milliseconds)
        except xapian.NetworkError as error:
            raise self._unavailable(error) from None

    def _reading(self, read: Callable[[], T]) -> T:
        try:
            return super()._reading(read)
        except xapian.NetworkError as error:  # it answered connecting, then not any more
            raise self._unavailable(error) from None

    def _order(self, enquire: Any, scope: Scope) -> bool:
        # The remote backend cannot run a KeyMaker: sort by the key the writer stored.
        slot = order_key_slot(scope)
        if slot is None:
            return False
        enquire.set_sort_by_value(slot, False)
        return True

    def _unavailable(self, error: Exception) -> IndexUnavailable:
        return IndexUnavailable(f"The search index at {self.location} cannot be reached: {error}")

    def _writable(self) -> Any:
        """A writable connection, once no other holds one (waits up to the lock timeout)."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        milliseconds = int(self.timeout * 1000)
        while True:
            try:
                return xapian.remote_open_writable(
                    self.host, self.port, milliseconds * WRITE_TIMEOUT_FACTOR, milliseconds
                )
            except xapian.DatabaseLockError:
                if time.monotonic() >= deadline:
                    raise IndexLockTimeout(
                        f"Timed out after {self.lock_timeout:g} s waiting for the write lock of"
                        f" the search index at {self.location}: another writer is holding it"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.2)
            except xapian.NetworkError as error:
                raise self._unavailable(error) from None

    @contextmanager
    def _writer(self) -> Iterator[Any]:
        """The job's writable connection if one holds it, else one for this write alone."""
        if self._held is not None:
            yield self._held
            return
        database = self._writable()
        try:
            yield database
        finally:
            _close_quietly(database)

    @contextmanager
    def job_lock(self) -> Iterator[None]:
        """Hold the server's one writable connection for the job (the shared write lock)."""
        if self._held is not None:
            raise RuntimeError("this index object already holds the write lock")
        self._held = self._writable()
        try:
            yield
        finally:
            database, self._held = self._held, None
            _close_quietly(database)

    def _write(self, documents: Mapping[int, Sequence[PageRecord]]) -> None:
        try:
            with self._writer() as database:
                self._fill(database, documents)
        except xapian.NetworkError as error:
            raise self._unavailable(error) from None

    def clear(self) -> None:
        # A remote database cannot be overwritten: delete every document's pages instead.
        try:
            with self._writer() as database:
                database.begin_transaction()
                try:
                    for item in list(database.allterms("Q")):
                        database.delete_document(item.term)
                    database.commit_transaction()
                except BaseException:
                    database.cancel_transaction()
                    raise
        except xapian.NetworkError as error:
            raise self._unavailable(error) from None


def _close_quietly(database: Any) -> None:
    # A connection already gone: the server cancels what it had not committed.
    with suppress(xapian.Error):
        database.close()
