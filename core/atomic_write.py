"""Write a file so that readers see either the old content or the whole new one, never a part:
a temporary file in the same folder, fsync, rename, fsync the folder."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` when the ``with`` block ends without error.

    The new file is private (0600, whatever the umask; see :mod:`archivist.core.file_modes`).
    On an error the temporary file is removed and ``path`` is left as it was. Raises
    ``OSError`` when the folder is not writable or the disk is full.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    fd, temp_path = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")  # 0600
    try:
        with os.fdopen(fd, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise
    # The rename itself is only durable once the folder's entry is on disk.
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
