"""One writer at a time per index, across processes, without failing the others.

Xapian refuses a second writer outright (``DatabaseLockError``) and Whoosh's own lock
fails after a short wait, so several RQ workers indexing at once would lose updates.
Every write first takes an exclusive ``fcntl`` lock on a file inside the index folder;
a writer that finds it taken waits (polling) up to a timeout. Readers never take it.
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
DEFAULT_LOCK_TIMEOUT = 120.0


class IndexLockTimeout(TimeoutError):
    """Another writer held the index's write lock for longer than the timeout."""


@contextmanager
def write_lock(
    index_path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT, name: str = LOCK_FILE_NAME
) -> Iterator[None]:
    """Hold the exclusive write lock of the index at ``index_path`` for the ``with`` body.

    Waits for other writers (other processes, or other threads using their own index
    objects) and raises :class:`IndexLockTimeout` after ``timeout`` seconds. The lock is
    released by the kernel if the holder dies, so a killed worker never wedges the index.
    ``name`` picks another lock file in the same folder (:data:`JOB_LOCK_FILE_NAME`). A
    lock taken on a file that is no longer in the folder (a compaction swapped the folder
    meanwhile) is given up and taken again on the file now there.
    """
    deadline = time.monotonic() + timeout
    while True:
        index_path.mkdir(parents=True, exist_ok=True)
        fd = os.open(index_path / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _take(fd, deadline, timeout, index_path)
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


def _take(fd: int, deadline: float, timeout: float, index_path: Path) -> None:
    delay = 0.005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise IndexLockTimeout(
                    f"Timed out after {timeout:g} s waiting for the write lock of the"
                    f" search index at {index_path}: another writer is still holding it"
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
