"""File storage: content-addressed, immutable, written atomically.

Every stored file (an original upload, a version's PDF) lives at ``files/ab/cd/<sha256>``;
previews of a page live at ``previews/<file sha256>/<page>-<size>.jpg``. Because names are
content hashes, writing the same content twice is harmless, which is what lets page jobs run
again safely. Workers on other machines reach the same files through a shared volume. Folders
are 0700 and files 0600 (stored files 0400) whatever the umask: they are other people's papers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from archivist.core.atomic_write import atomic_write
from archivist.core.document_errors import DocumentError, DocumentErrorCode
from archivist.core.file_modes import make_private_dirs

CHUNK = 1024 * 1024
SCRATCH_MAX_AGE = 3600.0  # seconds without a change after which a scratch folder is stale
_HOST = socket.gethostname().replace("-", "_")


def _made_by_dead_process(name: str) -> bool:
    """Whether a scratch folder's name says this host made it in a process that is gone."""
    host, _, rest = name.partition("-")
    pid_text = rest.partition("-")[0]
    if host != _HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


def _last_change(folder: Path) -> float:
    """The newest modification time of the folder or anything in it."""
    newest = folder.stat().st_mtime
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            newest = max(newest, path.stat().st_mtime)
    return newest


class Storage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        """Where the file with this SHA-256 lives (whether or not it exists)."""
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
        return self.root / "files" / digest[:2] / digest[2:4] / digest

    def preview_path(self, file_hash: str, page_number: int, size: str) -> Path:
        self.path(file_hash)  # validates the digest
        return self.root / "previews" / file_hash / f"{page_number}-{size}.jpg"

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A private temporary folder on the storage volume (so renames into it are atomic).

        Its name says which process made it (host and pid), so that a sweep can remove it at
        once when that process died (killed mid-upload) instead of waiting for it to age.
        """
        base = self.root / "tmp"
        make_private_dirs(base)
        folder = Path(tempfile.mkdtemp(dir=base, prefix=f"{_HOST}-{os.getpid()}-"))  # 0700
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def sweep_scratch(self, max_age: float = SCRATCH_MAX_AGE) -> int:
        """Remove scratch folders left by processes that died; returns how many went.

        A folder goes when the process of this host that made it is gone, or when nothing in it
        changed for ``max_age`` seconds (a folder of another host, whose processes we cannot
        see, or of an older naming). Safe to run while others work: a live process's folder
        stays. Errors (a folder removed meanwhile) are skipped.
        """
        base = self.root / "tmp"
        if not base.is_dir():
            return 0
        now = time.time()
        removed = 0
        for folder in base.iterdir():
            try:
                if not folder.is_dir() or folder.is_symlink():
                    continue
                if _made_by_dead_process(folder.name) or now - _last_change(folder) > max_age:
                    shutil.rmtree(folder)
                    removed += 1
            except OSError:
                continue
        return removed

    def receive(self, stream: BinaryIO, target: Path, max_bytes: int) -> tuple[str, int]:
        """Copy ``stream`` into ``target``; returns (sha256, size).

        Raises DocumentError(TOO_LARGE) past ``max_bytes`` and (EMPTY_FILE) for no bytes.
        """
        digest = hashlib.sha256()
        size = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise DocumentError(
                        DocumentErrorCode.TOO_LARGE,
                        f"This file is larger than the limit of {max_bytes // (1024 * 1024)} MiB.",
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DocumentError(DocumentErrorCode.EMPTY_FILE, "This file is empty.")
        return digest.hexdigest(), size

    def put(self, source: Path) -> str:
        """Store the file at ``source`` (left in place); returns its SHA-256."""
        digest = hashlib.sha256()
        with source.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        hexdigest = digest.hexdigest()
        target = self.path(hexdigest)
        if not target.exists():
            make_private_dirs(target.parent)
            with atomic_write(target) as out, source.open("rb") as handle:
                shutil.copyfileobj(handle, out, CHUNK)
            os.chmod(target, 0o400)  # immutable by intent, and private
        return hexdigest

    def link_preview(
        self, source_hash: str, source_page: int, target_hash: str, target_page: int, size: str
    ) -> None:
        """Give a page of another file the same preview (a hard link: no copy, no render).

        Nothing happens when the source has no such preview or the target has one already.
        """
        source = self.preview_path(source_hash, source_page, size)
        target = self.preview_path(target_hash, target_page, size)
        if source.exists() and not target.exists():
            make_private_dirs(target.parent)
            os.link(source, target)

    def write_preview(self, file_hash: str, page_number: int, size: str, data: bytes) -> None:
        target = self.preview_path(file_hash, page_number, size)
        make_private_dirs(target.parent)
        with atomic_write(target) as out:
            out.write(data)
