"""PDFs that PDFium refuses but qpdf can rebuild or decrypt are taken, not refused: the
rebuilt file is the first version, the upload is kept as the original."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import login, row_id, upload

from archivist.core.db import database
from archivist.core.models import Document, DocumentVersion
from archivist.core.pdf import open_pdf
from archivist.core.settings import Settings
from archivist.core.storage import Storage


@pytest.fixture
def token(client: TestClient, make_user) -> str:
    make_user("alice")
    return login(client, "alice")


def page_text(path: Path) -> str:
    with open_pdf(path) as pdf:
        page = pdf[0]
        textpage = page.get_textpage()
        try:
            return str(textpage.get_text_range())
        finally:
            textpage.close()
            page.close()


def stored(settings: Settings, document_id: int) -> tuple[Path, Path]:
    """The stored original and first version of a document."""
    storage = Storage(settings.storage_dir)
    with database.connection_context():
        document = Document.get(Document.node == document_id)
        version = DocumentVersion.get(DocumentVersion.document == document_id)
        return storage.path(document.original_hash), storage.path(version.file_hash)


def broken_xref_and_cut_tail(path: Path) -> bytes:
    data = text_pdf(path, [["repaired", "words"]]).read_bytes()
    # Every cross-reference entry points at the wrong byte, and the file ends before its
    # trailer: no "startxref", no "%%EOF".
    data = re.sub(rb"\d{10} 00000 n", b"0000000003 00000 n", data)
    return data[: data.rindex(b"trailer")]


def test_broken_xref_and_cut_tail_is_repaired(
    client: TestClient, token: str, settings: Settings, tmp_path: Path
) -> None:
    data = broken_xref_and_cut_tail(tmp_path / "t.pdf")
    with pytest.raises(pypdfium2.PdfiumError):  # what PDFium alone makes of it
        pypdfium2.PdfDocument(data)
    body = upload(client, token, "damaged.pdf", data)["data"]["uploadDocument"]
    assert body["errors"] == []
    assert body["document"]["pageCount"] == 1
    original, version = stored(settings, row_id(body["document"]["id"]))
    assert original.read_bytes() == data  # kept as uploaded
    assert "repaired words" in page_text(version)


def test_owner_password_only_pdf_is_accepted(
    client: TestClient, token: str, settings: Settings, tmp_path: Path
) -> None:
    with pikepdf.open(text_pdf(tmp_path / "t.pdf", [["owner", "only"]])) as pdf:
        no_user_password = pikepdf.Encryption(owner="owner-secret", user="", R=4, aes=True)
        pdf.save(tmp_path / "owner.pdf", encryption=no_user_password)
    body = upload(client, token, "owner.pdf", (tmp_path / "owner.pdf").read_bytes())
    payload = body["data"]["uploadDocument"]
    assert payload["errors"] == []
    _, version = stored(settings, row_id(payload["document"]["id"]))
    assert "owner only" in page_text(version)


def test_a_password_at_upload_opens_a_protected_pdf(
    client: TestClient, token: str, settings: Settings, tmp_path: Path
) -> None:
    with pikepdf.open(text_pdf(tmp_path / "t.pdf", [["protected", "text"]])) as pdf:
        locked = pikepdf.Encryption(owner="owner-secret", user="open-sesame", R=6)
        pdf.save(tmp_path / "locked.pdf", encryption=locked)
    data = (tmp_path / "locked.pdf").read_bytes()

    refused = upload(client, token, "locked.pdf", data)["data"]["uploadDocument"]["errors"]
    assert [error["code"] for error in refused] == ["ENCRYPTED"]
    assert "give its password" in refused[0]["message"]
    wrong = upload(client, token, "locked.pdf", data, {"password": "guess"})
    (error,) = wrong["data"]["uploadDocument"]["errors"]
    assert error["code"] == "ENCRYPTED" and "does not open" in error["message"]
    with database.connection_context():
        assert Document.select().count() == 0

    body = upload(client, token, "locked.pdf", data, {"password": "open-sesame"})
    payload = body["data"]["uploadDocument"]
    assert payload["errors"] == []
    original, version = stored(settings, row_id(payload["document"]["id"]))
    assert original.read_bytes() == data
    with pikepdf.open(version) as pdf:  # stored decrypted: workers need no password
        assert not pdf.is_encrypted
    assert "protected text" in page_text(version)
    for path in Path(settings.storage_dir).rglob("*"):
        if path.is_file():
            assert b"open-sesame" not in path.read_bytes()


def test_what_qpdf_cannot_rebuild_either_is_still_refused(client: TestClient, token: str) -> None:
    junk = b"%PDF-1.7\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    body = upload(client, token, "junk.pdf", junk)
    (error,) = body["data"]["uploadDocument"]["errors"]
    assert error["code"] == "BROKEN_PDF" and "repair" in error["message"]
