"""Which kind of document a file holds, decided by its content (magic bytes), never its name."""

from __future__ import annotations

import os
from enum import StrEnum

from archivist.core.document_errors import DocumentErrorCode, UnsupportedFileType


class FileType(StrEnum):
    """The document types Archivist accepts; the value is the MIME type."""

    PDF = "application/pdf"
    TIFF = "image/tiff"
    JPEG = "image/jpeg"
    PNG = "image/png"

    @property
    def is_image(self) -> bool:
        return self is not FileType.PDF


# A PDF's header may follow some junk; Acrobat accepts it within the first 1024 bytes, and so do we.
_PDF_HEADER_WINDOW = 1024
_SIGNATURES: tuple[tuple[bytes, FileType], ...] = (
    (b"\x89PNG\r\n\x1a\n", FileType.PNG),
    (b"\xff\xd8\xff", FileType.JPEG),
    (b"II*\x00", FileType.TIFF),  # little-endian TIFF
    (b"MM\x00*", FileType.TIFF),  # big-endian TIFF
    (b"II+\x00", FileType.TIFF),  # little-endian BigTIFF
    (b"MM\x00+", FileType.TIFF),  # big-endian BigTIFF
)

SUPPORTED_TYPES_TEXT = "PDF, TIFF, JPEG or PNG"


def detect_file_type_of_bytes(head: bytes) -> FileType:
    """Return the type of a file from its first bytes (at least 1024 of them when available).

    Raises :class:`UnsupportedFileType` (code ``EMPTY_FILE`` or ``UNSUPPORTED_TYPE``).
    """
    if not head:
        raise UnsupportedFileType(
            DocumentErrorCode.EMPTY_FILE, "The file is empty (0 bytes); upload it again."
        )
    for signature, file_type in _SIGNATURES:
        if head.startswith(signature):
            return file_type
    if b"%PDF-" in head[:_PDF_HEADER_WINDOW]:
        return FileType.PDF
    raise UnsupportedFileType(
        DocumentErrorCode.UNSUPPORTED_TYPE,
        f"This file is not a {SUPPORTED_TYPES_TEXT} document (whatever its name says); "
        "export or scan it to one of these formats and upload it again.",
    )


def detect_file_type(path: str | os.PathLike[str]) -> FileType:
    """Return the type of the file at ``path`` from its content.

    Raises :class:`UnsupportedFileType` for an empty file or content of any other type, and
    ``OSError`` when the file cannot be read.
    """
    with open(path, "rb") as file:
        head = file.read(_PDF_HEADER_WINDOW)
    return detect_file_type_of_bytes(head)
