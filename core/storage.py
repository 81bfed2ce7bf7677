"""File storage: content-addressed, immutable, written atomically.

Every stored file (an original upload, a version's PDF) lives at ``files/ab/cd/<sha256>``;
previews of a page live at ``previews/<file sha256>/<page>-<size>.jpg``. Because names are
content hashes, writing the same content twice is harmless, which is what lets page jobs run
again safely. Workers on other machines reach the same files through a shared volume.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from archivist.core.atomic_write import atomic_write
from archivist.core.document_errors import DocumentError, DocumentErrorCode

CHUNK = 1024 * 1024


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
        """A private temporary folder on the storage volume (so renames into it are atomic)."""
        base = self.root / "tmp"
        base.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=base))
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def receive(self, stream: BinaryIO, target: Path, max_bytes: int) -> tuple[str, int]:
        """Copy ``stream`` into ``target``; returns (sha256, size).

        Raises DocumentError(TOO_LARGE) past ``max_bytes`` and (EMPTY_FILE) for no bytes.
        """
        digest = hashlib.sha256()
        size = 0
        with target.open("wb") as out:
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
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target) as out, source.open("rb") as handle:
                shutil.copyfileobj(handle, out, CHUNK)
            os.chmod(target, 0o444)  # immutable by intent
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
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(source, target)

    def write_preview(self, file_hash: str, page_number: int, size: str, data: bytes) -> None:
        target = self.preview_path(file_hash, page_number, size)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(target) as out:
            out.write(data)
