"""Private file modes: what Archivist writes is readable by its own account only.

Stored documents, the SQLite database (with its -wal and -shm files), the search index, the
secret key and scratch files hold other people's papers. Every Archivist process runs with the
umask 077 (:func:`use_private_umask`, called first by the command line), so files that SQLite,
Xapian, Whoosh or Redis create are 0600 and folders 0700 whatever the umask it was started
with; the files Archivist writes itself get their modes explicitly as well
(:func:`make_private_dirs`, :mod:`archivist.core.atomic_write`). At start-up,
:func:`make_data_private` takes group and other access away from what an earlier version (or
another umask) left behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def use_private_umask() -> int:
    """Set this process's umask to 077 (inherited by the processes it starts); returns the old."""
    return os.umask(PRIVATE_UMASK)


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700 folders, whatever the umask.

    Folders that exist already are left as they are. Raises ``OSError`` when one cannot be made.
    """
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.mkdir(folder, PRIVATE_FOLDER)  # 0700 & ~umask is never wider than 0700
            os.chmod(folder, PRIVATE_FOLDER)


def make_private(path: Path) -> None:
    """Take group and other permissions away from ``path`` (not following a link)."""
    with contextlib.suppress(FileNotFoundError):
        mode = os.lstat(path).st_mode
        if not stat.S_ISLNK(mode) and mode & 0o077:
            os.chmod(path, stat.S_IMODE(mode) & ~0o077)


def make_data_private(data_dir: Path, sqlite_file: Path | None) -> None:
    """At start-up: the data folder, its top-level entries and the SQLite files become private.

    A private data folder alone already keeps other accounts out of everything below it (they
    cannot enter it); its direct entries and the database files (which may live elsewhere) are
    fixed too, without walking the whole storage. Raises ``OSError`` when a mode cannot be set.
    """
    make_private_dirs(data_dir)
    make_private(data_dir)
    for entry in data_dir.iterdir():
        make_private(entry)
    if sqlite_file is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            make_private(sqlite_file.with_name(sqlite_file.name + suffix))
