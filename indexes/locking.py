"""One writer at a time per index, across processes, without failing the others.

Xapian refuses a second writer outright (``DatabaseLockError``) and Whoosh's own lock
fails after a short wait, so several RQ workers indexing at once would lose updates.
Every write first takes an exclusive ``fcntl`` lock on a file inside the index folder;
a writer that finds it taken waits (polling) up to a timeout.

Readers read without it, except a Xapian read that writers overtook several times in a row
(see ``XapianEngine._reading``): its last try holds :func:`read_lock`, the write lock
shared, so that no writer commits during that one read. A writer committing in a loop
would take the write lock again the moment it let it go, so a reader waiting for it first
holds a turnstile (a second lock file, shared) that every writer passes (takes exclusively
and lets go) before it takes the write lock: the waiting reader gets in after the writer
now running, ahead of the next.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE_NAME = "archivist-write.lock"
# Serialises whole index jobs (read the database, write the index, record it), see core/search.py.
JOB_LOCK_FILE_NAME = "archivist-jobs.lock"
# Held (shared) by readers waiting for the write lock; writers pass it first.
TURNSTILE_FILE_NAME = "archivist-readers.lock"
DEFAULT_LOCK_TIMEOUT = 120.0


class IndexLockTimeout(TimeoutError):
    """Another writer held the index's write lock for longer than the timeout."""


@contextmanager
def write_lock(
    index_path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT, name: str = LOCK_FILE_NAME
) -> Iterator[None]:
    """Hold the exclusive write lock of the index at ``index_path`` for the ``with`` body.

    Waits for other writers (other processes, or other threads using their own index
    objects) and for readers holding :func:`read_lock`, and raises
    :class:`IndexLockTimeout` after ``timeout`` seconds. The lock is released by the kernel
    if the holder dies, so a killed worker never wedges the index. ``name`` picks another
    lock file in the same folder (:data:`JOB_LOCK_FILE_NAME`); that one has no turnstile.
    """
    deadline = time.monotonic() + timeout
    if name == LOCK_FILE_NAME:
        with _locked(index_path, TURNSTILE_FILE_NAME, deadline, timeout, shared=False):
            pass  # readers that waited for the writer before us go first
    with _locked(index_path, name, deadline, timeout, shared=False):
        yield


@contextmanager
def read_lock(index_path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the write lock of the index at ``index_path`` shared: any number of readers at
    once, no writer meanwhile. Waits for the writer now holding it (not for the ones after
    it) and raises :class:`IndexLockTimeout` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with (
        _locked(index_path, TURNSTILE_FILE_NAME, deadline, timeout, shared=True),
        _locked(index_path, LOCK_FILE_NAME, deadline, timeout, shared=True),
    ):
        yield


@contextmanager
def _locked(
    index_path: Path, name: str, deadline: float, timeout: float, *, shared: bool
) -> Iterator[None]:
    """Hold the lock on the file ``name`` in ``index_path``. A lock taken on a file that is
    no longer in the folder (a compaction swapped the folder meanwhile) is given up and
    taken again on the file now there."""
    while True:
        index_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(index_path / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _take(fd, deadline, timeout, index_path, shared)
            if not _still_there(fd, index_path / name):
                # The folder was swapped while we waited (a compaction): lock the new one's.
                fcntl.flock(fd, fcntl.LOCK_UN)
                continue
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            return
        finally:
            os.close(fd)


def _take(fd: int, deadline: float, timeout: float, index_path: Path, shared: bool) -> None:
    delay = 0.005
    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise IndexLockTimeout(
                    f"Timed out after {timeout:g} s waiting for the write lock of the"
                    f" search index at {index_path}: another writer (or a reader that"
                    " writers overtook) is still holding it"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _still_there(fd: int, path: Path) -> bool:
    """Whether the file locked through ``fd`` is still the one at ``path``."""
    try:
        found = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (found.st_dev, found.st_ino) == (held.st_dev, held.st_ino)
