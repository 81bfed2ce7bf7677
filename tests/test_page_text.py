"""What a page's stored text says, through the real page job (in this process, Tesseract):
a short born-digital page keeps its text layer, right-to-left text stays in logical order,
and a two-column scan is stored column by column.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from samples import (
    DEJAVU_SANS,
    LEFT,
    RIGHT,
    cid_font_pdf,
    font_text_pdf,
    image_pdf,
    two_column_page,
)
from starlette.testclient import TestClient
from support import graphql, login

from archivist.core.db import database
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.models import Page
from archivist.core.settings import Settings, use_settings
from archivist.core.users import User, viewer_for
from archivist.jobs.indexing import index_document
from archivist.jobs.pipeline import process_page


@pytest.fixture
def tesseract_settings(settings: Settings) -> Settings:
    if shutil.which("tesseract") is None:
        pytest.skip("the tesseract binary is not installed (apt-get install tesseract-ocr)")
    chosen = dataclasses.replace(settings, ocr_engine="tesseract", redis_url=None)
    use_settings(chosen)
    return chosen


def process(settings: Settings, make_user, pdf: Path) -> list[Page]:
    """Upload ``pdf`` and run its page jobs here; the pages as stored."""
    user = make_user("reader")
    with database.connection_context():
        viewer = viewer_for(User.get_by_id(user.id))
        with pdf.open("rb") as stream:
            upload_document(settings, viewer, stream, UploadOptions(pdf.name), None)
        ids = [page.id for page in Page.select(Page.id).order_by(Page.number)]
    for page_id in ids:
        assert process_page(page_id) == "done"
    with database.connection_context():
        return list(Page.select().where(Page.id.in_(ids)).order_by(Page.number))


def test_two_japanese_words_keep_their_text_layer(
    tesseract_settings: Settings, make_user, tmp_path: Path
) -> None:
    pdf = cid_font_pdf(tmp_path / "pdfa.pdf", [("日本語", 72, 100), ("テキスト", 180, 100)])
    (page,) = process(tesseract_settings, make_user, pdf)
    assert (page.source, page.engine, page.text) == ("text_layer", None, "日本語 テキスト")


def test_hebrew_text_layer_is_stored_in_logical_order(
    tesseract_settings: Settings, make_user, tmp_path: Path
) -> None:
    if not DEJAVU_SANS.exists():
        pytest.skip(f"needs {DEJAVU_SANS} (Debian's fonts-dejavu-core) for Hebrew glyphs")
    line = "זהו מסמך בדיקה עם שמונה מילים בעברית לפחות כאן"
    (page,) = process(
        tesseract_settings, make_user, font_text_pdf(tmp_path / "he.pdf", [line], DEJAVU_SANS)
    )
    assert (page.source, page.text) == ("text_layer", line)


def test_a_two_column_scan_is_stored_column_by_column(
    tesseract_settings: Settings, make_user, tmp_path: Path
) -> None:
    image = two_column_page(LEFT, RIGHT, (1400, 300), font_size=30, gutter=160)
    (page,) = process(tesseract_settings, make_user, image_pdf(tmp_path / "scan.pdf", image))
    assert page.source == "ocr"
    lines = page.text.splitlines()
    # Each column's lines in turn (Tesseract may misread a letter, not the order).
    assert len(lines) == len(LEFT) + len(RIGHT), lines
    assert lines.index("contracts safe for many") < lines.index("while people still need")
    assert lines.index("while people still need") < lines.index("Search finds every page")


SEARCH = """query($q: String!) { search(query: $q) { totalCount edges { node { snippet } } } }"""


def test_a_phrase_down_a_column_of_a_scan_is_found(
    tesseract_settings: Settings, make_user, client: TestClient, tmp_path: Path
) -> None:
    image = two_column_page(LEFT, RIGHT, (1400, 300), font_size=30, gutter=160)
    (page,) = process(tesseract_settings, make_user, image_pdf(tmp_path / "scan.pdf", image))
    with database.connection_context():
        document_id = Page.get_by_id(page.id).version.document_id
        assert index_document(document_id) == 1
    token = login(client, "reader")
    # The end of one line and the start of the next in the left column: interleaved with the
    # right column's lines, these words would not stand together.
    found = graphql(client, SEARCH, {"q": '"signing them while people"'}, token=token)
    assert found["data"]["search"]["totalCount"] == 1, found
    snippet = found["data"]["search"]["edges"][0]["node"]["snippet"]
    assert "<mark>signing</mark> <mark>them</mark>" in snippet
