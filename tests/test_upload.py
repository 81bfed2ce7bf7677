"""Uploads: what exists when the mutation returns, and every file we refuse, with its reason."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from samples import blank_pdf, mixed_pdf, text_pdf
from starlette.testclient import TestClient
from support import graphql, login, row_id, upload

from archivist.core.db import database
from archivist.core.models import Document, DocumentVersion, Page


@pytest.fixture
def token(client: TestClient, make_user) -> str:
    make_user("alice")
    return login(client, "alice")


def test_upload_creates_document_version_and_pending_pages(
    client: TestClient, token: str, tmp_path: Path
) -> None:
    body = upload(client, token, "scan.pdf", mixed_pdf(tmp_path / "m.pdf").read_bytes())
    payload = body["data"]["uploadDocument"]
    assert payload["errors"] == []
    document = payload["document"]
    assert (document["title"], document["status"], document["pageCount"]) == (
        "scan",
        "PROCESSING",
        3,
    )
    with database.connection_context():
        row = Document.get(Document.node == row_id(document["id"]))
        assert (row.original_type, row.ocr_mode, row.ocr_languages) == (
            "application/pdf",
            "auto",
            "en",
        )
        (version,) = DocumentVersion.select().where(DocumentVersion.document == row.node_id)
        statuses = [
            p.status for p in Page.select().where(Page.version == version).order_by(Page.number)
        ]
    assert statuses == ["pending"] * 3
    # It landed in the Inbox, and the same name again gets a free title.
    again = upload(
        client, token, "scan.pdf", (tmp_path / "m.pdf").read_bytes(), {"allowDuplicate": True}
    )
    assert again["data"]["uploadDocument"]["document"]["title"] == "scan (2)"


def test_images_become_pdf_pages(client: TestClient, token: str) -> None:
    frames = [Image.new("RGB", (300, 200), "white"), Image.new("RGB", (200, 300), "white")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:], dpi=(100, 100))
    body = upload(client, token, "fax.tif", buffer.getvalue())
    document = body["data"]["uploadDocument"]["document"]
    assert document["pageCount"] == 2
    with database.connection_context():
        assert Document.get(Document.node == row_id(document["id"])).original_type == "image/tiff"


def _fax_bomb(frames: int = 8, side: int = 10_000) -> bytes:
    """About 51 KiB of bilevel TIFF holding 8 frames of 100 Mpx each (800 Mpx in all)."""
    frame = Image.new("1", (side, side), 1)
    buffer = io.BytesIO()
    frame.save(
        buffer, "TIFF", save_all=True, append_images=[frame] * (frames - 1), compression="group4"
    )
    return buffer.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels but holds almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def _encrypted_pdf(tmp_path: Path) -> bytes:
    # pypdfium2 cannot encrypt, so this one is written by hand.
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"3 0 obj<</Filter/Standard/V 1/R 2/O(0123456789abcdef0123456789abcdef)"
        b"/U(0123456789abcdef0123456789abcdef)/P -4>>endobj\n"
        b"trailer<</Root 1 0 R/Encrypt 3 0 R/ID[<00112233445566778899aabbccddeeff>"
        b"<00112233445566778899aabbccddeeff>]>>\n%%EOF\n"
    )


@pytest.mark.parametrize(
    ("name", "make", "code"),
    [
        ("empty.pdf", lambda p: b"", "EMPTY_FILE"),
        (
            "notes.pdf",
            lambda p: b"These are my notes, not a PDF at all.\n" * 20,
            "UNSUPPORTED_TYPE",
        ),
        (
            "cut.pdf",
            # Cut off before its first page: nothing that a repair could rebuild.
            lambda p: text_pdf(p / "t.pdf", [["cut", "off"]]).read_bytes()[:60],
            "BROKEN_PDF",
        ),
        (
            "tree.pdf",
            lambda p: (
                b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 5 0 R>>endobj\n"
                b"trailer<</Root 1 0 R>>\n%%EOF\n"
            ),
            "BROKEN_PDF",
        ),
        ("locked.pdf", _encrypted_pdf, "ENCRYPTED"),
        ("bomb.png", lambda p: _png_header(100_000, 100_000), "IMAGE_TOO_LARGE"),
        ("fax.tif", lambda p: _fax_bomb(), "IMAGE_TOO_LARGE"),
    ],
)
def test_hostile_uploads_get_a_clear_error_and_leave_nothing(
    client: TestClient, token: str, tmp_path: Path, name: str, make, code: str
) -> None:
    body = upload(client, token, name, make(tmp_path))
    payload = body["data"]["uploadDocument"]
    assert payload["document"] is None
    (error,) = payload["errors"]
    assert error["code"] == code and error["field"] == "file"
    assert "Traceback" not in error["message"] and len(error["message"]) < 200
    with database.connection_context():
        assert Document.select().count() == 0


def test_corrupt_tiff_frame_is_refused(client: TestClient, token: str) -> None:
    frames = [Image.new("RGB", (300, 200), "white")] * 3
    buffer = io.BytesIO()
    frames[0].save(buffer, "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")
    data = bytearray(buffer.getvalue())
    data[-600:-300] = b"\xff" * 300  # scribble over the last frame's strips and directory
    body = upload(client, token, "fax.tif", bytes(data))
    (error,) = body["data"]["uploadDocument"]["errors"]
    assert error["code"] == "CORRUPT_IMAGE"


def test_huge_page_and_many_pages_are_accepted(
    client: TestClient, token: str, tmp_path: Path
) -> None:
    big = upload(
        client, token, "plan.pdf", blank_pdf(tmp_path / "b.pdf", 1, (8400, 8400)).read_bytes()
    )
    assert big["data"]["uploadDocument"]["errors"] == []
    many = upload(client, token, "book.pdf", blank_pdf(tmp_path / "k.pdf", 3000).read_bytes())
    assert many["data"]["uploadDocument"]["document"]["pageCount"] == 3000


def test_bad_options_are_user_errors(client: TestClient, token: str, tmp_path: Path) -> None:
    content = text_pdf(tmp_path / "t.pdf", [["hello"]]).read_bytes()
    body = upload(client, token, "t.pdf", content, {"languages": ["english"]})
    assert body["data"]["uploadDocument"]["errors"][0]["code"] == "INVALID_LANGUAGE"


def test_upload_over_the_size_limit_is_refused(settings, tmp_path: Path, make_user) -> None:
    import dataclasses

    from archivist.graphql.app import create_app

    small = dataclasses.replace(settings, max_upload_bytes=1024)
    with TestClient(create_app(small)) as client:
        make_user("bob")
        token = login(client, "bob")
        content = b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024)
        body = upload(client, token, "big.pdf", content)
    assert body["errors"][0]["extensions"]["code"] == "TOO_LARGE"
    assert graphql is not None


def test_upload_page_and_pixel_limits_are_settings(settings, tmp_path: Path, make_user) -> None:
    import dataclasses

    from archivist.graphql.app import create_app

    small = dataclasses.replace(settings, max_upload_pages=2, max_upload_pixels=2_000_000)
    with TestClient(create_app(small)) as client:
        make_user("bob")
        token = login(client, "bob")
        book = upload(client, token, "book.pdf", blank_pdf(tmp_path / "k.pdf", 3).read_bytes())
        fax = upload(client, token, "fax.tif", _fax_bomb(frames=2, side=1100))
    (error,) = book["data"]["uploadDocument"]["errors"]
    assert error["code"] == "TOO_MANY_PAGES" and "at most 2" in error["message"]
    (error,) = fax["data"]["uploadDocument"]["errors"]
    assert error["code"] == "IMAGE_TOO_LARGE" and "at most 2 are accepted" in error["message"]
