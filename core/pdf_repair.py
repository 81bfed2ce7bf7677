"""Repairing and decrypting an uploaded PDF before it is refused.

PDFium gives up on files that qpdf (through pikepdf) can rebuild: a damaged or missing
cross-reference table, a file cut off before its end, encryption PDFium does not handle.
OCRmyPDF and Paperless run the same repair. A file that is rebuilt is stored as the
document's first version, the upload itself is kept as the original.

Encrypted files are stored decrypted: workers render pages without a password, and the
password is used here only, never stored or logged.
"""

from __future__ import annotations

import os
from pathlib import Path

import pikepdf

from archivist.core.document_errors import DocumentError, DocumentErrorCode


def needs_password(has_password: bool) -> DocumentError:
    """The refusal for a PDF that a user password protects."""
    if has_password:
        return DocumentError(
            DocumentErrorCode.ENCRYPTED, "The password given does not open this PDF."
        )
    return DocumentError(
        DocumentErrorCode.ENCRYPTED,
        "This PDF is password-protected; give its password with the upload (or remove the "
        "password) and upload it again.",
    )


def rewrite_pdf(
    source: str | os.PathLike[str],
    target: Path,
    *,
    password: str | None,
    max_pages: int,
) -> None:
    """Write ``source`` to ``target`` rebuilt by qpdf: cross-references recovered, no
    encryption, objects that cannot be read dropped.

    Raises :class:`DocumentError`: ``ENCRYPTED`` (a user password is needed, or the one
    given is wrong), ``TOO_MANY_PAGES``, ``BROKEN_PDF`` (qpdf cannot rebuild it either).
    """
    try:
        with pikepdf.open(Path(source), password=password or "", attempt_recovery=True) as pdf:
            count = len(pdf.pages)
            if count > max_pages:  # before writing it all out
                raise DocumentError(
                    DocumentErrorCode.TOO_MANY_PAGES,
                    f"This PDF has {count} pages; at most {max_pages} are accepted. "
                    "Split it into smaller documents.",
                )
            # No encryption argument: the copy is written decrypted.
            pdf.save(target, fix_metadata_version=False, deterministic_id=True)
    except pikepdf.PasswordError:
        raise needs_password(bool(password)) from None
    except (pikepdf.PdfError, ValueError, RuntimeError) as error:
        raise DocumentError(
            DocumentErrorCode.BROKEN_PDF,
            "This PDF is damaged and cannot be read, even after an attempt to repair it; "
            "export or scan it again.",
        ) from error
