"""The one exception family for documents a user uploads: a machine-readable code and a message
that a person can act on.

A :class:`DocumentError` is a :class:`~archivist.core.errors.UserFacingError`, so the API turns it
into a ``UserError`` (code, message, field) like any other; no library internals reach the message.
"""

from __future__ import annotations

from enum import StrEnum

from archivist.core.errors import UserFacingError


class DocumentErrorCode(StrEnum):
    """Why a document was refused; the values are part of the API (``UserError.code``)."""

    EMPTY_FILE = "EMPTY_FILE"
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    ENCRYPTED = "ENCRYPTED"
    BROKEN_PDF = "BROKEN_PDF"
    TOO_LARGE = "TOO_LARGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    CORRUPT_IMAGE = "CORRUPT_IMAGE"
    PAGE_OUT_OF_RANGE = "PAGE_OUT_OF_RANGE"
    TOO_MANY_PAGES = "TOO_MANY_PAGES"
    PAGE_TOO_LARGE = "PAGE_TOO_LARGE"
    PAGE_TOO_COMPLEX = "PAGE_TOO_COMPLEX"


class DocumentError(UserFacingError):
    """A document that cannot be processed, with a code for programs and a message for people.

    ``field`` is ``"file"``: the upload is the input at fault.
    """

    code: DocumentErrorCode

    def __init__(self, code: DocumentErrorCode, message: str) -> None:
        super().__init__(code, message, field="file")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code.value!r}, {self.message!r})"


class UnsupportedFileType(DocumentError):
    """The file's content is none of the types we accept (or the file is empty)."""
